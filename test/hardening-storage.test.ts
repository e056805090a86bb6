/**
 * Regression tests for the registry's storage findings of issue #18: a full disk under the
 * registry reported as an internal error ("cannot rollback - no transaction is active"), and a
 * mixed-case PostgreSQL schema that passed validation and then failed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from './helpers/cli.js';
import { pgSchema, tempDir } from './helpers/env.js';
import { fixture } from './helpers/fixtures.js';

const breast = fixture('breast_mlp');

/** Fill the file system of `dir` until only `leaveKiB` KiB are free (tmpfs counts 4 KiB pages). */
function fillDisk(file: string, leaveKiB: number): void {
  rmSync(file, { force: true });
  const { bavail, bsize } = statfsSync(join(file, '..'));
  const bytes = Math.max(0, bavail * bsize - leaveKiB * 1024);
  const fd = openSync(file, 'w');
  try {
    const chunk = Buffer.alloc(4096);
    for (let written = 0; written < bytes; written += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written));
  } catch {
    // ENOSPC: full is what was asked for.
  } finally {
    closeSync(fd);
  }
}

describe('a full disk under the SQLite registry', () => {
  const tmp = tempDir('ferry-full-');
  const mnt = join(tmp.dir, 'disk');
  const fill = join(mnt, 'fill');
  const env = { FERRY_HOME: join(mnt, 'home'), FERRY_ARTIFACTS_DIR: join(tmp.dir, 'artifacts') };
  let mounted = false;
  before(async () => {
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
      mounted = true;
    } catch {
      return;
    }
    assert.equal((await runCli(['register', breast.model, '--name', 'bc'], env)).code, 0);
  });
  after(() => {
    // Lazy: a handle the in-process CLI left open must not fail the cleanup.
    if (mounted) execFileSync('umount', ['-l', mnt]);
    tmp.cleanup();
  });

  it('register and alias set answer FERRY_E_STORAGE_FULL (exit 8) at every fill level, and nothing is lost', async (t) => {
    if (!mounted) return t.skip('needs root to mount a 1 MiB tmpfs as a disk to fill');
    let full = 0;
    // From no space at all (the WAL cannot be opened) to a little (a write fails inside the transaction,
    // which SQLite rolls back by itself — the case that used to answer FERRY_E_INTERNAL).
    for (const leave of [0, 8, 16, 24, 32, 40, 48]) {
      fillDisk(fill, leave);
      for (const args of [['register', breast.model, '--name', `m${leave}`], ['alias', 'set', 'bc', 'prod', '1']]) {
        const r = await runCli(args, env);
        assert.ok(r.code === 0 || r.code === 8, `${args.join(' ')} with ${leave} KiB free: exit ${r.code} ${r.stderr}`);
        if (r.code === 8) {
          assert.match(r.stderr, /FERRY_E_STORAGE_FULL/);
          full += 1;
        }
      }
    }
    assert.ok(full >= 2, 'the disk was full for some of the commands');
    rmSync(fill);
    const check = new Database(join(env.FERRY_HOME, 'registry.db'), { readonly: true });
    try {
      assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      check.close();
    }
    const versions = await runCli(['versions', 'bc', '--json'], env);
    assert.deepEqual((JSON.parse(versions.stdout) as { version: number }[]).map((v) => v.version), [1]);
    assert.equal((await runCli(['register', breast.model, '--name', 'after'], env)).code, 0);
    assert.equal((await runCli(['alias', 'set', 'bc', 'prod', '1'], env)).code, 0);
  });
});

describe('a mixed-case schema in FERRY_DATABASE_URL', () => {
  const tmp = tempDir('ferry-schema-');
  let pg: Awaited<ReturnType<typeof pgSchema>>;
  before(async () => { pg = await pgSchema('Ferry_Mixed'); });
  after(async () => {
    await pg.cleanup();
    tmp.cleanup();
  });

  it('is the same schema where it is created and where tables are looked up', async () => {
    const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_DATABASE_URL: pg.url };
    const reg = await runCli(['register', breast.model, '--name', 'bc'], env);
    assert.equal(reg.code, 0, reg.stderr);
    assert.equal((await runCli(['alias', 'set', 'bc', 'prod', '1'], env)).code, 0);
    const versions = await runCli(['versions', 'bc', '--json'], env);
    assert.equal(versions.code, 0, versions.stderr);
    assert.equal((JSON.parse(versions.stdout) as unknown[]).length, 1);
  });
});
