/**
 * The fuzzers of `npm run fuzz` (scripts/fuzz.ts), run briefly with a fixed seed: the model
 * loaders and the gRPC service answer every mutated input with a score or one of Ferry's error
 * codes — no crash, hang, bare error or runaway memory. The long run is `npm run fuzz`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, tempDir } from './helpers/env.js';

interface FuzzReport {
  readonly findings: readonly { target: string; case: number; kind: string; detail: string }[];
  readonly rows: readonly string[][];
}

function fuzz(args: readonly string[]): Promise<FuzzReport> {
  const out = tempDir('ferry-fuzz-');
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/fuzz.ts'), '--json', '--out', out.dir, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  proc.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  return new Promise((resolve, reject) => {
    proc.on('exit', () => {
      out.cleanup();
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as FuzzReport);
      } catch (err) {
        reject(new Error(`fuzz printed no report: ${stdout}`, { cause: err }));
      }
    });
  });
}

describe('fuzz (short, seed 7)', () => {
  it('model loaders: every mutated file is scored or refused with a Ferry code', async () => {
    const report = await fuzz(['--seed', '7', '--iterations', '12', '--target', 'xgboost-json,xgboost-ubj,lightgbm,pmml,onnx,pickle']);
    assert.deepEqual(report.findings, []);
    assert.equal(report.rows.length, 6);
  });

  it('gRPC service: mutated and generated ModelInfer messages get a status, never INTERNAL, and the server keeps answering', async () => {
    const report = await fuzz(['--seed', '7', '--iterations', '60', '--target', 'grpc']);
    assert.deepEqual(report.findings, []);
  });
});
