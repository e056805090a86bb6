/**
 * Bad input gets a clear error with a stable code, a non-zero exit, and leaves the registry
 * as it was: wrong file formats, unknown references, bad cells, non-models, tampered
 * artifacts and a full disk.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { fixture } from './helpers/fixtures.js';

const breast = fixture('breast_mlp');
const wine = fixture('wine_two_inputs');

describe('bad input', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  const file = (name: string, content: string | Buffer) => {
    const path = join(tmp.dir, name);
    writeFileSync(path, content);
    return path;
  };
  const versionsOf = async (name: string) => {
    const r = await runCli(['versions', name, '--json', '--all'], env);
    return r.code === 0 ? (JSON.parse(r.stdout) as { version: number }[]).map((v) => v.version) : r.code;
  };

  before(async () => {
    const cols = breast.meta.input_columns.input!.join(',');
    assert.equal((await runCli(['register', breast.model, '--name', 'bc', '--input-columns', `input=${cols}`, '--alias', 'champion'], env)).code, 0);
    assert.equal((await runCli(['register', wine.model, '--name', 'wine', ...Object.entries(wine.meta.input_columns).flatMap(([i, c]) => ['--input-columns', `${i}=${c.join(',')}`])], env)).code, 0);
  });
  after(() => tmp.cleanup());

  describe('data files', () => {
    it('a CSV file holding binary data', async () => {
      const r = await runCli(['predict', 'bc', '--input', file('bin.csv', Buffer.from([0, 1, 2, 255, 10, 0, 3]))], env);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /FERRY_E_INPUT_FORMAT/);
    });
    it('a .json file that is not JSON, a .jsonl line that is not an object', async () => {
      let r = await runCli(['predict', 'bc', '--input', file('bad.json', 'id,a\n1,2\n')], env);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /FERRY_E_INPUT_FORMAT.*not valid JSON/);
      r = await runCli(['predict', 'bc', '--input', file('bad.jsonl', '{"a": 1}\n[1, 2]\n')], env);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /line 2/);
    });
    it('a CSV with rows of different lengths', async () => {
      const r = await runCli(['predict', 'bc', '--input', file('ragged.csv', 'a,b\n1,2\n3\n')], env);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /FERRY_E_INPUT_FORMAT/);
    });
    it('a missing input file and an empty one', async () => {
      let r = await runCli(['predict', 'bc', '--input', join(tmp.dir, 'nope.csv')], env);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /FERRY_E_FILE_NOT_FOUND/);
      r = await runCli(['predict', 'bc', '--input', file('empty.csv', 'id,a\n')], env);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /FERRY_E_INPUT_EMPTY/);
    });
  });

  describe('model references', () => {
    for (const [ref, code] of [['nope', 'FERRY_E_MODEL_NOT_FOUND'], ['bc:9', 'FERRY_E_VERSION_NOT_FOUND'], ['bc@staging', 'FERRY_E_ALIAS_NOT_FOUND'], ['bc:x:y', 'FERRY_E_MODEL_REF_INVALID']] as const) {
      it(`${ref} → ${code}`, async () => {
        const r = await runCli(['predict', ref, '--input', breast.input, '--key', 'id'], env);
        assert.match(r.stderr, new RegExp(code));
        assert.equal(r.code, code === 'FERRY_E_MODEL_REF_INVALID' ? 2 : 3);
      });
    }
    it('errors are JSON on stderr with --json', async () => {
      const r = await runCli(['predict', 'nope', '--input', breast.input, '--json'], env);
      const body = JSON.parse(r.stderr) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'FERRY_E_MODEL_NOT_FOUND');
      assert.match(body.error.message, /ferry models/);
    });
  });

  describe('rows that do not fit the signature', () => {
    const csv = readFileSync(breast.input, 'utf8').trim().split('\n');
    const header = csv[0]!.split(',');

    it('a missing column is named', async () => {
      const drop = header.indexOf('mean_radius');
      const text = csv.map((l) => l.split(',').filter((_, i) => i !== drop).join(',')).join('\n');
      const r = await runCli(['predict', 'bc', '--input', file('missing.csv', text), '--key', 'id'], env);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /FERRY_E_COLUMN_MISSING.*"mean_radius"/);
    });
    it('an extra column is ignored and reported once; --strict-columns refuses it, naming it', async () => {
      const text = csv.map((l, i) => `${l},${i === 0 ? 'surprise' : '1'}`).join('\n');
      const ignored = await runCli(['predict', 'bc', '--input', file('extra.csv', text), '--key', 'id'], env);
      assert.equal(ignored.code, 0, ignored.stderr);
      assert.equal(ignored.stdout.match(/ignored column\(s\) the model does not use: surprise/g)?.length, 1);
      const r = await runCli(['predict', 'bc', '--input', file('extra.csv', text), '--key', 'id', '--strict-columns'], env);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /FERRY_E_COLUMN_UNEXPECTED.*"surprise"/);
    });
    it('batch: an extra column is ignored, reported once and kept in the run record; --strict-columns refuses it', async () => {
      const text = csv.map((l, i) => `${l},${i === 0 ? 'surprise' : '1'}`).join('\n');
      const input = file('extra-batch.csv', text);
      const ok = await runCli(['batch', 'run', 'bc', '--input', input, '--output', join(tmp.dir, 'extra-out.jsonl'), '--key', 'id', '--chunk-size', '2', '--run-id', 'extra-ok'], env);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout.match(/ignored column\(s\) the model does not use: surprise/g)?.length, 1, ok.stdout);
      const strict = await runCli(['batch', 'run', 'bc', '--input', input, '--output', join(tmp.dir, 'extra-strict.jsonl'), '--key', 'id', '--run-id', 'extra-strict', '--strict-columns'], env);
      assert.equal(strict.code, 4);
      assert.match(strict.stderr, /FERRY_E_COLUMN_UNEXPECTED.*"surprise"/);
      const runs = JSON.parse((await runCli(['batch', 'runs', '--json'], env)).stdout) as { id: string; status: string; ignoredColumns: string[]; strictColumns: boolean }[];
      const byId = new Map(runs.map((r) => [r.id, r]));
      assert.deepEqual(byId.get('extra-ok')?.ignoredColumns, ['surprise']);
      assert.equal(byId.get('extra-ok')?.strictColumns, false);
      assert.equal(byId.get('extra-strict')?.status, 'failed');
      assert.equal(byId.get('extra-strict')?.strictColumns, true);
    });
    it('a non-numeric cell names its row and column and nothing is written', async () => {
      const rows = csv.map((l) => l.split(','));
      rows[3]![5] = 'abc';
      const out = join(tmp.dir, 'never.jsonl');
      const r = await runCli(['predict', 'bc', '--input', file('nonnum.csv', rows.map((x) => x.join(',')).join('\n')), '--key', 'id', '--output', out], env);
      assert.equal(r.code, 4);
      assert.match(r.stderr, new RegExp(`FERRY_E_VALUE_TYPE: Row 3, column "${header[5]}": expected a number \\(float32\\) but got text\\.$`, 'm'));
      assert.doesNotMatch(r.stderr, /abc/, 'the cell value is not echoed');
      assert.throws(() => readFileSync(out), /ENOENT/);
    });
    it('with --rejects, bad rows go aside with their reason and the rest is scored', async () => {
      const rows = csv.map((l) => l.split(','));
      rows[2]![4] = 'n/a';
      rows[7]![9] = '';
      const out = join(tmp.dir, 'good.jsonl');
      const rej = join(tmp.dir, 'rejects.jsonl');
      const r = await runCli(['predict', 'bc', '--input', file('some-bad.csv', rows.map((x) => x.join(',')).join('\n')), '--key', 'id', '--output', out, '--rejects', rej], env);
      assert.equal(r.code, 0, r.stderr);
      const good = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: number });
      const bad = readFileSync(rej, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { row: number; id: number; code: string; reason: string });
      assert.equal(good.length, csv.length - 1 - 2);
      assert.deepEqual(bad.map((b) => [b.row, b.id, b.code]), [[2, Number(rows[2]![0]), 'FERRY_E_VALUE_TYPE'], [7, Number(rows[7]![0]), 'FERRY_E_VALUE_MISSING']]);
      assert.match(bad[0]!.reason, /Row 2, column "[a-z_]+": expected a number \(float32\) but got text\.$/);
      assert.ok(!good.some((g) => g.id === bad[0]!.id || g.id === bad[1]!.id));
    });
    it('a two-input model without a mapping asks for --input-columns', async () => {
      const r = await runCli(['register', wine.model, '--name', 'wine-nomap', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const p = await runCli(['predict', 'wine-nomap', '--input', wine.input, '--key', 'id'], env);
      assert.equal(p.code, 4);
      assert.match(p.stderr, /FERRY_E_INPUT_MAPPING_REQUIRED/);
    });
    it('an integer input given a fraction is a wrong type', async () => {
      const rows = readFileSync(wine.input, 'utf8').trim().split('\n').map((l) => l.split(','));
      const b = rows[0]!.indexOf('bucket');
      rows[1]![b] = '2.5';
      const r = await runCli(['predict', 'wine', '--input', file('frac.csv', rows.map((x) => x.join(',')).join('\n')), '--key', 'id'], env);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /Row 1, column "bucket": expected an integer \(int64\) but got a fractional number/);
    });
  });

  describe('things that are not models', () => {
    for (const [name, bytes, flags, code] of [
      // Pickles are read by the restricted unpickler now: a truncated one is an invalid model file.
      ['pickle.pkl', Buffer.from([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0]), [], 'FERRY_E_ARTIFACT_INVALID'],
      ['random.bin', Buffer.from('c0ffee00deadbeef'.repeat(64), 'hex'), [], 'FERRY_E_ARTIFACT_FORMAT_UNKNOWN'],
      ['random.onnx', Buffer.from('c0ffee00deadbeef'.repeat(64), 'hex'), ['--format', 'onnx'], 'FERRY_E_ARTIFACT_INVALID'],
      ['empty.onnx', Buffer.alloc(0), [], 'FERRY_E_ARTIFACT_FORMAT_UNKNOWN'],
    ] as const) {
      it(`${name} → ${code}, registry unchanged`, async () => {
        const r = await runCli(['register', file(name, bytes), '--name', 'bc', ...flags], env);
        assert.equal(r.code, 4, r.stderr);
        assert.match(r.stderr, new RegExp(code));
        assert.deepEqual(await versionsOf('bc'), [1]);
      });
    }
  });

  describe('stored artifacts', () => {
    const blobOf = async (ref: string) => {
      const v = JSON.parse((await runCli(['versions', ref, '--json'], env)).stdout) as { digest: string }[];
      const hex = v[0]!.digest.slice(7);
      return join(env.FERRY_HOME, 'artifacts', 'sha256', hex.slice(0, 2), hex);
    };
    it('one flipped byte is refused with an integrity error', async () => {
      const reg = await runCli(['register', fixture('diabetes_regressor').model, '--name', 'tamper'], env);
      assert.equal(reg.code, 0, reg.stderr);
      const blob = await blobOf('tamper');
      const bytes = readFileSync(blob);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0x01;
      execFileSync('chmod', ['u+w', blob]);
      writeFileSync(blob, bytes);
      const r = await runCli(['predict', 'tamper', '--input', fixture('diabetes_regressor').input, '--key', 'id'], env);
      assert.equal(r.code, 5);
      assert.match(r.stderr, /FERRY_E_ARTIFACT_INTEGRITY.*tamper:1/);
    });
    it('a truncated artifact is refused too', async () => {
      const reg = await runCli(['register', fixture('digits_cnn').model, '--name', 'trunc'], env);
      assert.equal(reg.code, 0, reg.stderr);
      const blob = await blobOf('trunc');
      execFileSync('chmod', ['u+w', blob]);
      writeFileSync(blob, readFileSync(blob).subarray(0, 100));
      const r = await runCli(['predict', 'trunc', '--input', fixture('digits_cnn').input, '--key', 'id'], env);
      assert.equal(r.code, 5);
      assert.match(r.stderr, /FERRY_E_ARTIFACT_INTEGRITY/);
    });
  });

  describe('a full disk during registration', () => {
    const mnt = join(tmp.dir, 'tiny');
    let mounted = false;
    before(() => {
      mkdirSync(mnt);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', mnt], { stdio: 'ignore' });
        mounted = true;
      } catch {
        mounted = false;
      }
    });
    after(() => { if (mounted) execFileSync('umount', [mnt]); });

    it('fails with FERRY_E_STORAGE_FULL and leaves nothing behind', async (t) => {
      if (!mounted) return t.skip('needs root to mount a 4 KiB tmpfs as a full disk');
      const fullEnv = { ...env, FERRY_ARTIFACTS_DIR: mnt };
      const r = await runCli(['register', fixture('digits_cnn').model, '--name', 'full'], fullEnv);
      assert.equal(r.code, 8, r.stderr);
      assert.match(r.stderr, /FERRY_E_STORAGE_FULL/);
      assert.equal(await versionsOf('full'), 3, 'no model was created');
      const leftovers = readdirSync(mnt, { recursive: true }).filter((p) => String(p).endsWith('.part') || /[0-9a-f]{64}$/.test(String(p)));
      assert.deepEqual(leftovers, []);
    });
  });
});
