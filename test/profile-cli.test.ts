/** `ferry profile` and `ferry register --reference` through the real CLI, on SQLite and PostgreSQL. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { fixture } from './helpers/fixtures.js';
import { storeEnvs } from './helpers/stores.js';

const breast = fixture('breast_mlp');
type Summary = { rows: number; source: string; features: Record<string, { kind: string; count: number; mean: number; quantiles: Record<string, number> }>; outputs: Record<string, { kind: string; count: number }> };

const envs = await storeEnvs();
for (const store of envs) {
  describe(`profile (${store.name})`, () => {
    const cli = (args: string[]) => runCli(args, store.env);
    before(async () => {
      const r = await cli(['register', breast.model, '-n', 'breast', '--reference', breast.input, '--reference-ignore', 'id']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /reference profile stored from/);
      const plain = await cli(['register', breast.model, '-n', 'breast']);
      assert.equal(plain.code, 0, plain.stderr);
    });
    after(() => store.cleanup());

    it('register --reference stores the inputs\' and the outputs\' statistics', async () => {
      const r = await cli(['profile', 'breast:1', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const p = JSON.parse(r.stdout) as Summary;
      assert.equal(p.rows, 50);
      assert.equal(Object.keys(p.features).length, 30);
      assert.deepEqual(Object.keys(p.outputs), ['label', 'probabilities[0]', 'probabilities[1]']);
      const radius = p.features.mean_radius;
      assert.equal(radius?.kind, 'numeric');
      assert.equal(radius?.count, 50);
      assert.ok(Math.abs((radius?.mean ?? 0) - 14.7106) < 0.01, String(radius?.mean));
    });

    it('profile <ref> <data> --merge rolls the new rows into the stored profile', async () => {
      const merged = await cli(['profile', 'breast:1', breast.input, '--ignore', 'id', '--merge', '--json']);
      assert.equal(merged.code, 0, merged.stderr);
      const p = JSON.parse(merged.stdout) as Summary;
      assert.equal(p.rows, 100);
      assert.equal(p.features.mean_radius?.count, 100);
      assert.ok(Math.abs((p.features.mean_radius?.mean ?? 0) - 14.7106) < 0.01, 'the same rows twice keep the mean');
      assert.match(p.source, /input\.csv \+ .*input\.csv/);
      const human = await cli(['profile', 'breast:1']);
      assert.match(human.stdout, /^input\s+mean_radius\s+numeric\s+100\s+0\.0%/m);
    });

    it('errors: no profile yet, columns that are not model inputs', async () => {
      const none = await cli(['profile', 'breast:2']);
      assert.equal(none.code, 3);
      assert.match(none.stderr, /FERRY_E_PROFILE_NOT_FOUND: breast:2 has no reference profile/);
      const extra = await cli(['profile', 'breast:2', breast.input]);
      assert.equal(extra.code, 4);
      assert.match(extra.stderr, /FERRY_E_TENSOR_SHAPE: Input "input" expects 30 value\(s\) per row .* but got 31 column\(s\): "id"/);
      const merge = await cli(['profile', 'breast:2', breast.input, '--ignore', 'id', '--merge']);
      assert.equal(merge.code, 3, 'nothing to merge into');
    });
  });
}
