/**
 * Promotion gates through the real CLI on SQLite and PostgreSQL: the alias moves only when
 * every gate holds, the verdicts land in the alias history, a refusal names the failed gates
 * and leaves the alias where it was.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/env.js';
import { fixture } from './helpers/fixtures.js';
import { storeEnvs } from './helpers/stores.js';

const breast = fixture('breast_mlp');
const labelled = join(ROOT, 'fixtures/monitoring/breast_mlp-labelled.csv');

/** The fixture rows with every feature scaled: a shifted population. */
function shiftedCsv(path: string, factor: number): void {
  const [head = '', ...lines] = readFileSync(breast.input, 'utf8').trim().split('\n');
  writeFileSync(path, [head, ...lines.map((l) => l.split(',').map((v, i) => (i === 0 ? v : String(Number(v) * factor))).join(','))].join('\n'));
}

const envs = await storeEnvs();
for (const store of envs) {
  describe(`promote (${store.name})`, () => {
    const cli = (args: string[]) => runCli(args, store.env);
    const shifted = join(store.dir, 'shifted.csv');
    const aliasOf = async () => {
      const r = await cli(['alias', 'history', 'breast', 'champion', '--json']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { toVersion: number; note: string | null }[];
    };
    before(async () => {
      shiftedCsv(shifted, 1.6);
      for (const auc of ['0.95', '0.97', '0.90']) {
        const r = await cli(['register', breast.model, '-n', 'breast', '--metric', `auc=${auc}`, '--reference', breast.input, '--reference-ignore', 'id']);
        assert.equal(r.code, 0, r.stderr);
      }
    });
    after(() => store.cleanup());

    it('with no champion yet, a metric gate against the champion passes and the alias is set', async () => {
      const r = await cli(['promote', 'breast', '1', '--to', 'champion', '--require', 'auc >= champion.auc']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Promoted breast:1 to @champion/);
      const [last] = await aliasOf();
      assert.equal(last?.toVersion, 1);
      assert.match(last?.note ?? '', /auc >= champion.auc ✓ champion is not set yet/);
    });

    it('refused: a worse candidate fails "auc >= champion.auc"; the alias does not move', async () => {
      const r = await cli(['promote', 'breast', '3', '--to', 'champion', '--require', 'auc >= champion.auc', '--require', 'auc >= 0.8']);
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, /FERRY_E_PROMOTION_REFUSED: breast:3 was not promoted to @champion; failed gate\(s\): auc >= champion.auc \(auc 0.9 not >= 0.95 \(v1\), registry metrics\)\. The alias is unchanged\./);
      assert.doesNotMatch(r.stderr, /auc >= 0.8 \(/, 'passing gates are not listed as failed');
      const history = await aliasOf();
      assert.equal(history[0]?.toVersion, 1);
      assert.equal(history.length, 1);
    });

    it('accepted: a better candidate with no drift on the given data; the gates are recorded in the alias history', async () => {
      const r = await cli(['promote', 'breast', '2', '--require', 'auc >= champion.auc', '--require', 'no-drift', '--data', breast.input, '--ignore', 'id', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { promoted: boolean; champion: number; gates: { gate: string; ok: boolean }[] };
      assert.deepEqual([out.promoted, out.champion, out.gates.map((g) => [g.gate, g.ok])], [true, 1, [['auc >= champion.auc', true], ['no-drift', true]]]);
      const [last] = await aliasOf();
      assert.equal(last?.toVersion, 2);
      assert.match(last?.note ?? '', /^promoted: auc >= champion.auc ✓ auc 0.97 >= 0.95 \(v1\), registry metrics; no-drift ✓ 0 of 30 column\(s\) drifted/);
    });

    it('refused: no-drift fails on shifted data', async () => {
      const r = await cli(['promote', 'breast', '1', '--require', 'no-drift', '--data', shifted, '--ignore', 'id']);
      assert.equal(r.code, 6);
      assert.match(r.stderr, /failed gate\(s\): no-drift \(\d+ of 30 column\(s\) drifted/);
      assert.equal((await aliasOf())[0]?.toVersion, 2);
    });

    it('metrics from labelled data: accuracy of both versions computed on --data', async () => {
      const ok = await cli(['promote', 'breast', '1', '--require', 'accuracy >= champion.accuracy', '--require', 'f1 > 0.9', '--data', labelled, '--label', 'diagnosis', '--ignore', 'id', '--json']);
      assert.equal(ok.code, 0, ok.stderr);
      const out = JSON.parse(ok.stdout) as { gates: { detail: string }[] };
      assert.match(out.gates[0]?.detail ?? '', /accuracy 0.98 >= 0.98 \(v2\), on the given data/);
    });

    it('no-drift without a reference profile, or without current data, fails with the reason', async () => {
      const reg = await cli(['register', breast.model, '-n', 'breast']);
      assert.equal(reg.code, 0, reg.stderr);
      const r = await cli(['promote', 'breast', '4', '--require', 'no-drift', '--data', breast.input, '--ignore', 'id']);
      assert.equal(r.code, 6);
      assert.match(r.stderr, /no-drift \(breast:4 has no reference profile/);
      const log = await cli(['promote', 'breast', '2', '--require', 'no-drift', '--window', '1h']);
      assert.equal(log.code, 6);
      assert.match(log.stderr, /no-drift \(No current data to test for drift: the prediction log has no predictions/);
    });

    it('a malformed gate is a usage error', async () => {
      const r = await cli(['promote', 'breast', '2', '--require', 'auc >= champ']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /FERRY_E_GATE_INVALID: Promotion gate "auc >= champ" is not valid/);
    });
  });
}
