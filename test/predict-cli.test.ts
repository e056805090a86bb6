/**
 * One-off predictions through the real CLI: `ferry register` + `ferry predict` reproduce the
 * reference library's predictions for every fixture model, in every input format.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { assertMatchesReference, fixtures, inputColumnFlags } from './helpers/fixtures.js';

const readJsonl = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('ferry predict reproduces reference predictions', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  after(() => tmp.cleanup());

  for (const f of fixtures()) {
    it(`${f.name}: register + predict (CSV → JSONL) matches ${f.expected.reference}`, async () => {
      const reg = await runCli(['register', f.model, '--name', f.name, ...inputColumnFlags(f), '--json'], env);
      assert.equal(reg.code, 0, reg.stderr);
      const version = JSON.parse(reg.stdout) as { version: number; signature: { inputs: { name: string; dtype: string; shape: number[] }[] } };
      assert.deepEqual(version.signature.inputs.map((i) => [i.name, i.dtype, i.shape]), f.meta.inputs.map((i) => [i.name, i.dtype, i.shape]));

      const out = join(tmp.dir, `${f.name}.jsonl`);
      const pred = await runCli(['predict', `${f.name}:${version.version}`, '--input', f.input, '--key', 'id', '--output', out], env);
      assert.equal(pred.code, 0, pred.stderr);
      const rows = readJsonl(out);
      assert.deepEqual(rows.map((r) => r.id), rows.map((_, i) => i), 'one row per input row, in input order, with the key (CSV numbers come out as numbers)');
      assertMatchesReference(f, rows);
    });
  }

  it('JSONL and JSON inputs give the same predictions as CSV', async () => {
    const f = fixtures().find((x) => x.name === 'breast_mlp')!;
    const csv = readFileSync(f.input, 'utf8').trim().split('\n');
    const header = csv[0]!.split(',');
    const objects = csv.slice(1).map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i]!, header[i] === 'id' ? v : Number(v)])));
    const jsonl = join(tmp.dir, 'in.jsonl');
    writeFileSync(jsonl, objects.map((o) => JSON.stringify(o)).join('\n'));
    const json = join(tmp.dir, 'in.json');
    writeFileSync(json, JSON.stringify(objects));
    for (const input of [jsonl, json]) {
      const r = await runCli(['predict', 'breast_mlp', '--input', input, '--key', 'id', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      assertMatchesReference(f, r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
    }
  });

  it('named tensors ({"image": [[[[…]]]]}) are accepted', async () => {
    const f = fixtures().find((x) => x.name === 'digits_cnn')!;
    const lines = readFileSync(f.input, 'utf8').trim().split('\n').slice(1);
    const images = lines.map((l) => {
      const px = l.split(',').slice(1).map(Number);
      return [Array.from({ length: 8 }, (_, r) => px.slice(r * 8, r * 8 + 8))];
    });
    const input = join(tmp.dir, 'tensors.json');
    writeFileSync(input, JSON.stringify({ image: images }));
    const r = await runCli(['predict', 'digits_cnn', '--input', input, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assertMatchesReference(f, r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
  });

  it('CSV output expands multi-valued outputs into columns', async () => {
    const out = join(tmp.dir, 'out.csv');
    const r = await runCli(['predict', 'breast_mlp', '--input', fixtures()[0]!.input, '--key', 'id', '--output', out], env);
    assert.equal(r.code, 0, r.stderr);
    const [header, first] = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(header, 'id,label,probabilities_0,probabilities_1');
    const cells = first!.split(',').map(Number);
    assert.ok(Math.abs(cells[2]! + cells[3]! - 1) < 1e-6, 'probabilities sum to 1');
  });

  it('--outputs limits the outputs written', async () => {
    const r = await runCli(['predict', 'breast_mlp', '--input', fixtures()[0]!.input, '--key', 'id', '--outputs', 'label', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const row = JSON.parse(r.stdout.split('\n')[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(row), ['id', 'label']);
  });
});
