/** Shared test plumbing: temporary homes, PostgreSQL schemas, the fixtures folder, the CLI. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = join(ROOT, 'fixtures/models');
export const FERRY_BIN = join(ROOT, 'bin/ferry.js');

/** PostgreSQL used by the tests (trust auth on the development and CI machines). */
export const PG_URL = process.env.FERRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'ferry-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A PostgreSQL schema of the test's own, dropped by the returned cleanup. */
export function pgSchema(prefix = 'ferry_t'): Promise<{ url: string; schema: string; cleanup: () => Promise<void> }> {
  const schema = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  return Promise.resolve({
    url,
    schema,
    cleanup: async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    },
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the built `ferry` binary as a real process (in `cwd`, default this process's working directory). */
export function ferryCli(args: readonly string[], env: Readonly<Record<string, string>>, input?: string, cwd?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FERRY_BIN, ...args], {
      ...(cwd === undefined ? {} : { cwd }),
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Truncate every stored artifact of a Ferry home so that loading fails its integrity check. */
export function corruptArtifacts(home: string): void {
  const dir = join(home, 'artifacts');
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    if (statSync(path).isFile()) writeFileSync(path, 'x');
  }
}
