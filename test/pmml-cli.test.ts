/**
 * PMML through the real CLI: `ferry register` detects the format from the content (no
 * --format), and `ferry predict --output x.jsonl` writes every target and output field under
 * its PMML field name, with missing results as null — numbers included.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';

const CASES = join(ROOT, 'fixtures/pmml/cases');
const readJsonl = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('PMML through ferry register + predict', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  after(() => tmp.cleanup());

  it('register detects PMML; predict writes field names and nulls (CSV with empty cells → JSONL)', async () => {
    const reg = await runCli(['register', join(CASES, 'hand-missing/model.pmml'), '--name', 'chain', '--json'], env);
    assert.equal(reg.code, 0, reg.stderr);
    const version = JSON.parse(reg.stdout) as { format: string; signature: { inputs: { name: string; dtype: string }[]; outputs: { name: string }[] } };
    assert.equal(version.format, 'pmml');
    assert.deepEqual(version.signature.inputs.map((i) => [i.name, i.dtype]), [['a', 'float64'], ['b', 'string']]);

    const input = join(tmp.dir, 'in.csv');
    writeFileSync(input, 'id,a,b\n1,1,u\n2,,v\n3,0.5,\n4,,\n');
    const out = join(tmp.dir, 'out.jsonl');
    const pred = await runCli(['predict', 'chain', '--input', input, '--key', 'id', '--output', out], env);
    assert.equal(pred.code, 0, pred.stderr);
    const rows = readJsonl(out);
    assert.deepEqual(rows, [
      { id: 1, y_hat: 3, exp_y: Math.exp(3), tree_label: 'yes', p_yes: 0.75, segment: 'regression', y: 3 },
      { id: 2, y_hat: null, exp_y: null, tree_label: 'no', p_yes: 0.2, segment: 'regression', y: null },
      { id: 3, y_hat: 2, exp_y: Math.exp(2), tree_label: null, p_yes: null, segment: 'regression', y: 2 },
      { id: 4, y_hat: null, exp_y: null, tree_label: null, p_yes: null, segment: 'regression', y: null },
    ]);
  });

  it('JSONL input: the sklearn logistic regression gives sklearn\'s classes and probabilities', async () => {
    const reg = await runCli(['register', join(CASES, 'sklearn-logistic/model.pmml'), '--name', 'iris', '--json'], env);
    assert.equal(reg.code, 0, reg.stderr);
    const [head, ...lines] = readFileSync(join(CASES, 'sklearn-logistic/input.csv'), 'utf8').trim().split('\n');
    const names = head!.split(',');
    const input = join(tmp.dir, 'iris.jsonl');
    writeFileSync(input, lines.map((l) => JSON.stringify(Object.fromEntries(l.split(',').map((v, i) => [names[i]!, Number(v)])))).join('\n'));
    const out = join(tmp.dir, 'iris-out.jsonl');
    const pred = await runCli(['predict', 'iris', '--input', input, '--output', out], env);
    assert.equal(pred.code, 0, pred.stderr);
    const rows = readJsonl(out);
    const [eh, ...expected] = readFileSync(join(CASES, 'sklearn-logistic/expected.csv'), 'utf8').trim().split('\n');
    const cols = eh!.split(',');
    assert.equal(rows.length, expected.length);
    rows.forEach((row, i) => {
      const want = Object.fromEntries(expected[i]!.split(',').map((v, j) => [cols[j]!, v]));
      assert.equal(row.species, want.species);
      assert.equal(row.predicted_species, want.predicted_species);
      for (const c of ['setosa', 'versicolor', 'virginica']) {
        const got = row[`probability_${c}`] as number;
        const ref = Number(want[`probability_${c}`]);
        assert.ok(Math.abs(got - ref) <= 1e-12 * Math.max(1, Math.abs(ref)), `row ${i} ${c}: ${got} vs ${ref}`);
      }
    });
  });

  it('refuses an unsupported document at registration, naming the element', async () => {
    const file = join(tmp.dir, 'text.pmml');
    writeFileSync(file, '<?xml version="1.0"?><PMML version="4.4"><Header/><DataDictionary><DataField name="t" optype="categorical" dataType="string"/></DataDictionary><TextModel functionName="classification"><MiningSchema><MiningField name="t"/></MiningSchema></TextModel></PMML>');
    const reg = await runCli(['register', file, '--name', 'text'], env);
    assert.notEqual(reg.code, 0);
    assert.match(reg.stderr, /FERRY_E_PMML_UNSUPPORTED/);
    assert.match(reg.stderr, /TextModel/);
  });
});
