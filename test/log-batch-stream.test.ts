/**
 * Predictions of batch runs and stream consumers in the prediction log (issue #7): a real
 * `ferry batch run --log-predictions` on SQLite and PostgreSQL logs one prediction per scored
 * row (source `batch`, the output's model, version and outputs, its id in the output's
 * `prediction_id` column; rejected rows are not logged), `ferry monitor log` and
 * `ferry monitor drift` read them; sampling; a job declared with `log:`; and a real
 * `ferry stream run --log-predictions` over Redis Streams logs each published prediction once
 * (source `stream`, its id in the output message).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from '../src/vendor/kysely.js';
import { openFerry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { listPredictions, type LoggedPrediction } from '../src/monitoring/prediction-log-store.js';
import { runCli } from './helpers/cli.js';
import { readRows } from './helpers/batch.js';
import { redisBroker, startConsumer, uniqueName } from './helpers/brokers.js';
import { tempDir } from './helpers/env.js';
import { assertMatchesReference, fixture, records } from './helpers/fixtures.js';
import { storeEnvs } from './helpers/stores.js';

const bc = fixture('breast_mlp');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function logged(env: Record<string, string>, model: string): Promise<LoggedPrediction[]> {
  const app = await openFerry(loadConfig(env));
  try {
    return await listPredictions(app.database, { model });
  } finally {
    await app.close();
  }
}

/** Every logged prediction is one output row: same id, model, version, outputs and key. */
function assertLogMatches(log: readonly LoggedPrediction[], rows: readonly Record<string, unknown>[], source: string, input = 'id'): void {
  const byId = new Map(rows.map((r) => [r.prediction_id as string, r]));
  assert.equal(byId.size, rows.length, 'prediction ids are unique');
  assert.equal(log.length, rows.length, 'one logged prediction per scored row');
  for (const p of log) {
    const row = byId.get(p.id);
    assert.ok(row, `logged id ${p.id} is in the output`);
    assert.equal(p.source, source);
    assert.equal(p.model, row.model);
    assert.equal(p.version, row.model_version);
    assert.deepEqual(p.outputs, { label: row.label, probabilities: row.probabilities });
    assert.equal(p.inputs[input], row[input], 'the logged inputs are the scored row');
  }
}

const stores = await storeEnvs();
for (const store of stores) {
  describe(`batch run --log-predictions (${store.name})`, () => {
    const cli = (args: string[]) => runCli(args, store.env);
    const at = (name: string) => join(store.dir, name);
    before(async () => {
      const r = await cli(['register', bc.model, '-n', 'bmlp', '--reference', bc.input, '--reference-ignore', 'id']);
      assert.equal(r.code, 0, r.stderr);
    });
    after(() => store.cleanup());

    it('logs one prediction per scored row with the output\'s model, version and outputs; rejects are not logged', async () => {
      // Row 5 cannot be scored: it goes to the rejects and must not be logged.
      const lines = readFileSync(bc.input, 'utf8').trim().split('\n');
      const cells = lines[6]!.split(',');
      cells[3] = 'not-a-number';
      lines[6] = cells.join(',');
      writeFileSync(at('input.csv'), `${lines.join('\n')}\n`);
      const out = at('out.jsonl');
      const r = await cli(['batch', 'run', 'bmlp', '-i', at('input.csv'), '-o', out, '-k', 'id', '--chunk-size', '10', '--rejects', at('rejects.jsonl'), '--log-predictions', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const rows = await readRows([out]);
      assert.equal(rows.length, lines.length - 2);
      assert.ok(rows.every((x) => UUID_V7.test(String(x.prediction_id))), 'every output row carries its prediction id');
      assert.deepEqual((await readRows([at('rejects.jsonl')])).map((x) => x.id), [5]);
      const log = await logged(store.env, 'bmlp');
      assertLogMatches(log, rows, 'batch');
      assert.ok(!log.some((p) => p.inputs.id === 5));

      const shown = await cli(['monitor', 'log', 'bmlp', '--limit', '1000', '--json']);
      assert.equal(shown.code, 0, shown.stderr);
      assert.deepEqual((JSON.parse(shown.stdout) as { id: string }[]).map((p) => p.id).sort(), log.map((p) => p.id).sort());
    });

    it('`ferry monitor drift --last N --json` works over batch-logged predictions (the reference data: no drift)', async () => {
      const r = await cli(['monitor', 'drift', 'bmlp:1', '--last', '100', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout) as { dataset_drift: boolean; share: number; features: { name: string }[] };
      assert.deepEqual([d.dataset_drift, d.share, d.features.length], [false, 0, 30]);
    });

    if (store.name === 'sqlite') {
      it('--log-predictions 0.5 logs every other chunk; rows of chunks sampled out have no prediction id', async () => {
        const out = at('half.jsonl');
        const r = await cli(['batch', 'run', 'bmlp', '-i', bc.input, '-o', out, '-k', 'id', '--chunk-size', '10', '--log-predictions', '0.5']);
        assert.equal(r.code, 0, r.stderr);
        const rows = await readRows([out]);
        assertMatchesReference(bc, rows);
        const withId = rows.filter((x) => x.prediction_id !== null);
        const ids = new Set(withId.map((x) => x.prediction_id as string));
        // 5 chunks (50 rows): chunks 2 and 4 are logged (rows 10–19 and 30–39).
        assert.equal(rows.length, 50);
        assert.deepEqual([...new Set(withId.map((x) => Math.floor(Number(x.id) / 10)))], [1, 3]);
        const log = (await logged(store.env, 'bmlp')).filter((p) => ids.has(p.id));
        assertLogMatches(log, withId, 'batch');
      });

      it('a model whose signature names its input columns logs each row as the tensor it was scored as (packed, as the server does) plus its key', async () => {
        const mapping = bc.meta.input_columns.input ?? [];
        const reg = await cli(['register', bc.model, '-n', 'bnamed', '--input-columns', `input=${mapping.join(',')}`]);
        assert.equal(reg.code, 0, reg.stderr);
        const out = at('named.jsonl');
        const r = await cli(['batch', 'run', 'bnamed', '-i', bc.input, '-o', out, '-k', 'id', '--chunk-size', '16', '--log-predictions']);
        assert.equal(r.code, 0, r.stderr);
        const rows = await readRows([out]);
        const log = await logged(store.env, 'bnamed');
        assertLogMatches(log, rows, 'batch');
        const app = await openFerry(loadConfig(store.env));
        try {
          const raw = (await sql<{ inputs: string }>`select inputs from prediction_log where model_name = 'bnamed'`.execute(app.database.kysely)).rows;
          assert.equal(raw.length, rows.length);
          for (const x of raw) assert.match(x.inputs, /^\{"id":\d+,"@input":"float32:[A-Za-z0-9+/]+={0,2}"\}$/, 'stored packed, the key as a cell');
        } finally {
          await app.close();
        }
        // Read back by column: the float32 values the model saw, in the signature's column order.
        const inputs = records(bc); // the fixture ids are the row numbers from 0
        for (const p of log) {
          const source = inputs[p.inputs.id as number];
          assert.ok(source, `logged key ${String(p.inputs.id)} is an input row`);
          assert.deepEqual(Object.keys(p.inputs), ['id', ...mapping]);
          for (const c of mapping) assert.equal(p.inputs[c], Math.fround(Number(source[c])), c);
        }
      });

      it('a job declared in ferry.yaml with `log:` logs its runs; --log-predictions rejects a share outside 0..1', async () => {
        const config = at('ferry.yaml');
        writeFileSync(config, `batch:\n  jobs:\n    - name: nightly\n      model: bmlp\n      input: ${bc.input}\n      output: ${at('job-out')}\n      output_format: jsonl\n      key: id\n      log:\n        sample: 1\n`);
        const before = (await logged(store.env, 'bmlp')).length;
        const r = await cli(['batch', 'job', 'run', 'nightly', '-c', config, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const log = await logged(store.env, 'bmlp');
        assert.equal(log.length - before, 50);
        const bad = await cli(['batch', 'run', 'bmlp', '-i', bc.input, '-o', at('x.jsonl'), '--log-predictions', '2']);
        assert.equal(bad.code, 2, bad.stderr);
        assert.match(bad.stderr, /FERRY_E_PARAMETER_INVALID: --log-predictions is not valid: give a share of predictions from 0 to 1/);
      });
    }
  });
}

describe('stream run --log-predictions (Redis Streams, SQLite)', () => {
  const broker = redisBroker();
  const home = tempDir('ferry-logs-');
  const env = { FERRY_HOME: home.dir };
  const base = uniqueName('ferry-logs');
  const n = { input: `${base}-in`, output: `${base}-out`, dead: `${base}-dead`, group: `g-${base}` };
  after(async () => {
    await broker.cleanup([n.input, n.output, n.dead], [{ group: n.group, consumers: ['c1'] }]);
    home.cleanup();
  });

  it('logs each published prediction once with source stream; outputs carry their prediction ids; dead letters are not logged', async () => {
    const reg = await runCli(['register', bc.model, '-n', 'smlp'], env);
    assert.equal(reg.code, 0, reg.stderr);
    const rows = records(bc);
    const out = await broker.collect(n.output);
    const dead = await broker.collect(n.dead);
    const consumer = await startConsumer(['smlp', '--from', broker.url(n.input), '--to', broker.url(n.output), '--dead-letter', broker.url(n.dead),
      '--group', n.group, '--consumer', 'c1', '--runtime-workers', '0', '--max-batch', '16', '--log-predictions'], env);
    try {
      const payloads = rows.slice(0, 40).map((r, i) => JSON.stringify({ id: `m${i}`, inputs: r }));
      payloads.push(JSON.stringify({ id: 'many', rows: rows.slice(40, 43) }));
      assert.equal(rows.length, 50);
      payloads.push(JSON.stringify({ id: 'bad', inputs: { ...rows[0], mean_radius: 'x' } }));
      await broker.publish(n.input, payloads);
      await out.until((m) => m.length >= 41, '41 outputs');
      await dead.until((m) => m.length >= 1, 'the dead letter');
    } finally {
      consumer.child.kill('SIGTERM');
      assert.equal(await consumer.exited, 0, consumer.log.join('\n'));
    }
    assert.equal(dead.messages[0]?.id, 'bad');
    const flat: Record<string, unknown>[] = [];
    for (const m of out.messages) {
      if (m.id === 'many') {
        const ids = m.prediction_ids as string[];
        (m.outputs as Record<string, unknown>[]).forEach((o, j) => flat.push({ ...o, id: 40 + j, mean_radius: rows[40 + j]?.mean_radius, prediction_id: ids[j], model: m.model, model_version: m.version }));
      } else {
        const i = Number(String(m.id).slice(1));
        flat.push({ ...(m.outputs as Record<string, unknown>), id: i, mean_radius: rows[i]?.mean_radius, prediction_id: m.prediction_id, model: m.model, model_version: m.version });
      }
    }
    assert.ok(flat.every((x) => UUID_V7.test(String(x.prediction_id))));
    const log = await logged(env, 'smlp');
    assertLogMatches(log, flat, 'stream', 'mean_radius');
    assertMatchesReference({ ...bc, expected: { ...bc.expected, outputs: Object.fromEntries(Object.entries(bc.expected.outputs).map(([k, v]) => [k, v.slice(0, 43)])) } },
      [...flat].sort((a, b) => Number(a.id) - Number(b.id)));
  });
});
