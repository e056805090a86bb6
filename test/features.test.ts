/**
 * The feature layer (issue #16): the transform language, declarations applied and versioned
 * in the registry, materialisation into each online store (the registry database on SQLite and
 * PostgreSQL, and Redis) with its watermark, reads (`ferry features get`) with ttl and the
 * missing-value policy, and reads that all succeed while a materialisation runs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/core/config.js';
import { evaluate, parseExpression } from '../src/features/expression.js';
import { materializeView } from '../src/features/materialize.js';
import { openFerry } from '../src/main/ferry.js';
import { runCli } from './helpers/cli.js';
import { REDIS, uniqueName } from './helpers/brokers.js';
import { DAY, DIABETES_COLUMNS, patientsYaml, UNTIL, writePatients } from './helpers/features.js';
import { fixture, records } from './helpers/fixtures.js';
import { storeEnvs } from './helpers/stores.js';

const diabetes = fixture('diabetes_regressor');
const rows = records(diabetes) as Record<string, number>[];

describe('the transform language (no eval)', () => {
  const run = (text: string, values: Record<string, number | string | null> = {}) => evaluate(parseExpression(text), (n) => values[n]);

  it('does arithmetic with precedence, functions, comparisons and conditionals', () => {
    assert.equal(run('balance / max(n_orders, 1)', { balance: 10, n_orders: 0 }), 10);
    assert.equal(run('balance / max(n_orders, 1)', { balance: 10, n_orders: 4 }), 2.5);
    assert.equal(run('1 + 2 * 3 - -4 % 3'), 1 + 2 * 3 - (-4 % 3));
    assert.equal(run('(1 + 2) * 3'), 9);
    assert.equal(run('a > 1 && b < 2 ? "hi" : "lo"', { a: 2, b: 1 }), 'hi');
    assert.equal(run('a > 1 ? 1 : a > 0 ? 2 : 3', { a: 0.5 }), 2);
    assert.equal(run('coalesce(x, 7)'), 7);
    assert.equal(run('is_null(x)'), true);
    assert.equal(run('log(exp(2))'), 2);
    assert.equal(run('customer_stats.age + 1', { 'customer_stats.age': 41 }), 42);
  });

  it('gives null for arithmetic on a missing value, and names what it reads', () => {
    assert.equal(run('balance / max(n_orders, 1)', { balance: null, n_orders: 3 }), null);
    assert.deepEqual(parseExpression('balance / max(n_orders, 1) + balance').names, ['balance', 'n_orders']);
  });

  it('refuses anything outside the language with FERRY_E_FEATURES_INVALID and where', () => {
    for (const [text, why] of [
      ['process.exit(1)', /unknown function "process.exit"/],
      ['constructor("x")', /unknown function "constructor"/],
      ['a +', /unexpected end/],
      ['a ; b', /unexpected ";" at 3/],
      ['max()', /max\(\) takes 1 to 16 argument/],
      ['(a', /expected "\)"/],
      ['a = 1', /unexpected "=" at 3/],
      ['"x', /unterminated string/],
    ] as const) {
      assert.throws(() => parseExpression(text), (e: Error & { code?: string }) => e.code === 'FERRY_E_FEATURES_INVALID' && why.test(e.message), text);
    }
    assert.throws(() => parseExpression('('.repeat(100) + '1' + ')'.repeat(100)), /nested deeper than 64/);
  });
});

/** Each online store: the registry database (SQLite, PostgreSQL), and Redis over a SQLite registry. */
const stores = await storeEnvs();
const redisPrefix = `${uniqueName('ferry-ft')}:`;
const targets = [
  ...stores.map((s) => ({ name: `${s.name} registry`, store: s, env: s.env })),
  { name: 'redis', store: stores[0]!, env: { ...stores[0]!.env, FERRY_HOME: join(stores[0]!.dir, 'home-redis'), FERRY_ONLINE_STORE: `redis://${REDIS.host}:${REDIS.port}/0?prefix=${encodeURIComponent(redisPrefix)}` } },
];

after(async () => {
  const redis = new Redis(REDIS);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
  for (const s of stores) await s.cleanup();
});

for (const target of targets) {
  describe(`declarations, materialisation and reads (${target.name})`, () => {
    const cli = (args: string[]) => runCli(args, target.env);
    const dir = join(target.store.dir, target.name.replace(/\W/g, '-'));
    let yaml = '';
    before(() => {
      mkdirSync(dir, { recursive: true });
      yaml = patientsYaml(dir, writePatients(dir, rows), '    missing: {bp: reject, s1: 0}\n');
    });

    it('`features apply` validates and versions the declarations; re-applying the same file keeps the version', async () => {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, 'entities: [{name: patient, key: patient_id}]\nviews: [{name: v, entity: nobody, source: {path: x.csv}, timestamp: t, features: [a]}]\n');
      const refused = await cli(['features', 'apply', bad]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /FERRY_E_FEATURES_INVALID: Feature declarations are not valid: view "v": entity "nobody" is not declared/);
      const first = await cli(['features', 'apply', yaml, '--json']);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(JSON.parse(first.stdout), { version: 1, changed: true, views: ['patient_stats'], services: ['diabetes'] });
      const again = await cli(['features', 'apply', yaml, '--json']);
      assert.deepEqual(JSON.parse(again.stdout), { version: 1, changed: false, views: ['patient_stats'], services: ['diabetes'] });
    });

    it('materialises the latest value per entity up to --until, then reads it back with transforms applied', async () => {
      const r = await cli(['features', 'materialize', '--until', new Date(UNTIL).toISOString(), '--chunk-size', '7', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const [result] = JSON.parse(r.stdout) as { rows: number; until: number }[];
      assert.equal(result?.rows, rows.length);
      assert.equal(result?.until, UNTIL);
      const got = await cli(['features', 'get', 'diabetes', '--entity', 'patient_id=3', '--entity', 'patient_id=17', '--json']);
      assert.equal(got.code, 0, got.stderr);
      const body = JSON.parse(got.stdout) as { features: Record<string, number>[] };
      for (const [i, id] of [3, 17].entries()) {
        const want = rows[id]!;
        const f = body.features[i]!;
        assert.equal(f.patient_id, id);
        for (const c of DIABETES_COLUMNS.slice(0, 8)) assert.equal(f[c], want[c], `${c} of patient ${id}`);
        assert.equal(f.s5, want.s5, 's5 = s5_raw / 2');
      }
      // Nothing new up to the same time: the watermark holds.
      const again = await cli(['features', 'materialize', '--until', String(UNTIL), '--json']);
      assert.equal((JSON.parse(again.stdout) as { rows: number }[])[0]?.rows, 0);
    });

    it('`features status` reports freshness; --max-staleness fails with FERRY_E_FEATURE_STALE when a view is older', async () => {
      const ok = await cli(['features', 'status', '--max-staleness', '36500d', '--json']);
      assert.equal(ok.code, 0, ok.stderr);
      const [view] = JSON.parse(ok.stdout) as { view: string; newest: number; watermark: number; seconds: number }[];
      assert.equal(view?.view, 'patient_stats');
      assert.equal(view?.watermark, UNTIL);
      assert.ok(view.newest < UNTIL && view.newest > UNTIL - 7 * DAY, 'the newest value loaded is before --until');
      const stale = await cli(['features', 'status', '--max-staleness', '1d']);
      assert.equal(stale.code, 7, stale.stderr);
      assert.match(stale.stderr, /FERRY_E_FEATURE_STALE: Feature view\(s\) older than 1d: patient_stats \(\d+ s\)/);
    });

    it('an unknown entity follows each feature\'s policy: null, a default, or reject with a clear error', async () => {
      const got = await cli(['features', 'get', 'diabetes', '--entity', 'patient_id=999', '--json']);
      assert.equal(got.code, 0, got.stderr);
      const body = JSON.parse(got.stdout) as { features: Record<string, unknown>[]; errors: { index: number; code: string; message: string }[] };
      assert.equal(body.features[0]?.age, null);
      assert.equal(body.features[0]?.s1, 0);
      assert.equal(body.errors[0]?.code, 'FERRY_E_FEATURE_MISSING');
      assert.match(body.errors[0]?.message ?? "", /Feature "bp" of service "diabetes" is missing for patient_id=999/);
      const unknown = await cli(['features', 'get', 'nope', '--entity', 'patient_id=1']);
      assert.equal(unknown.code, 3);
      assert.match(unknown.stderr, /FERRY_E_FEATURE_SERVICE_NOT_FOUND: Feature service "nope" is not declared. Declared services: "diabetes"/);
    });

    it('a value older than the view\'s ttl is stale: it is looked up as missing', async () => {
      const app = await openFerry(loadConfig(target.env));
      try {
        const lookups = await app.featureLookups();
        // Seen from 11 years on, every value is past the 3650-day ttl.
        const { FeatureLookups } = await import('../src/features/lookup.js');
        const later = new FeatureLookups(app.features, lookups.store, { now: () => UNTIL + 4000 * DAY, cacheSize: 0 });
        const got = await later.get('diabetes', [{ patient_id: 3 }]);
        assert.equal(got.rows[0]?.age, null);
        assert.match(got.rejects[0]!.error.message, /is stale \(older than the view's ttl 3650d\) for patient_id=3/);
      } finally {
        await app.close();
      }
    });

    it('reads during a materialisation all succeed, and see either the old or the new value', async () => {
      const app = await openFerry(loadConfig(target.env));
      try {
        const { declarations } = await app.features.require();
        const view = declarations.views[0]!;
        const store = (await app.featureLookups()).store;
        // Move the view back, then re-load it in small chunks while reading every entity.
        await store.setProgress(view.name, { watermark: null });
        let done = false;
        let reads = 0;
        const loading = materializeView(store, view, declarations.entities[0]!, { until: UNTIL, chunkSize: 3 }).finally(() => { done = true; });
        const keys = rows.map((_, i) => String(i));
        while (!done) {
          const [got = []] = await store.read([view], keys);
          reads++;
          got.forEach((row, i) => assert.equal(row?.values.age, rows[i]!.age, `patient ${i} during the load`));
          // better-sqlite3 answers synchronously: let DuckDB's callbacks in between reads.
          await new Promise((r) => setImmediate(r));
        }
        const result = await loading;
        assert.equal(result.rows, rows.length);
        assert.ok(reads >= 1);
      } finally {
        await app.close();
      }
    });
  });
}
