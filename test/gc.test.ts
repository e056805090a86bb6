/** `ferry gc`: removes artifacts no version references and unfinished writes, never a used or fresh one. */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { fixture } from './helpers/fixtures.js';

describe('ferry gc', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  after(() => tmp.cleanup());

  it('removes orphans and stale partial writes, keeps referenced and recent blobs', async () => {
    assert.equal((await runCli(['register', fixture('breast_mlp').model, '--name', 'bc'], env)).code, 0);
    const store = join(env.FERRY_HOME, 'artifacts');
    // An orphan as a crash between blob write and commit would leave it (old), one just written, a stale .part.
    const old = new Date(Date.now() - 3_600_000);
    const orphan = 'ab'.repeat(32);
    const fresh = 'cd'.repeat(32);
    for (const hex of [orphan, fresh]) {
      mkdirSync(join(store, 'sha256', hex.slice(0, 2)), { recursive: true });
      writeFileSync(join(store, 'sha256', hex.slice(0, 2), hex), 'x');
    }
    utimesSync(join(store, 'sha256', 'ab', orphan), old, old);
    mkdirSync(join(store, 'tmp'), { recursive: true });
    writeFileSync(join(store, 'tmp', 'dead.part'), 'x');
    utimesSync(join(store, 'tmp', 'dead.part'), old, old);

    const dry = await runCli(['gc', '--dry-run', '--json'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual((JSON.parse(dry.stdout) as { orphans: string[] }).orphans, [`sha256:${orphan}`]);
    assert.equal(readdirSync(join(store, 'sha256', 'ab')).length, 1, 'a dry run removes nothing');

    const run = await runCli(['gc', '--json'], env);
    assert.deepEqual(JSON.parse(run.stdout), { orphans: [`sha256:${orphan}`], incomplete: 1, dryRun: false });
    assert.deepEqual(readdirSync(join(store, 'sha256', 'ab')), []);
    assert.deepEqual(readdirSync(join(store, 'sha256', 'cd')), [fresh], 'too recent to be an orphan for sure');
    assert.deepEqual(readdirSync(join(store, 'tmp')), []);
    const predict = await runCli(['predict', 'bc', '--input', fixture('breast_mlp').input, '--key', 'id', '--json'], env);
    assert.equal(predict.code, 0, 'the referenced artifact is untouched');
    assert.equal((await runCli(['gc', '--min-age', 'soon'], env)).code, 2);
  });
});
