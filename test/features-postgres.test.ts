/**
 * A PostgreSQL table or query as a feature view's source (real PostgreSQL, a schema of the test's
 * own): materialisation loads the latest value per entity within ttl (incrementally: a second run
 * reads only what is new), and the point-in-time training set equals a join computed in this test.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../src/core/config.js';
import { openFerry } from '../src/main/ferry.js';
import { readRows } from './helpers/batch.js';
import { runCli } from './helpers/cli.js';
import { PG_URL, tempDir } from './helpers/env.js';
import { rng } from './helpers/random.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const UNTIL = T0 + 100 * DAY;
const TTL = 20 * DAY;

interface Event { id: number; t: number; age: number; balance: number }

describe('a PostgreSQL table or query as a view source', () => {
  const tmp = tempDir('ferry-fpg-');
  const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_ACTOR: 'tester' };
  const schema = `ferry_fpg_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: PG_URL });
  const r = rng(61);
  const events: Event[] = [];
  for (let id = 0; id < 300; id++) {
    const times = new Set<number>();
    for (let k = 0; k < 1 + Math.floor(r.uniform() * 5); k++) times.add(T0 + Math.floor(r.uniform() * 120 * 24) * 3_600_000);
    for (const t of times) events.push({ id, t, age: 18 + Math.floor(r.uniform() * 60), balance: Math.round(r.normal(1000, 300) * 100) / 100 });
  }
  /** The latest event of an entity at or before `ts`, if within ttl. */
  const asOf = (id: number, ts: number, ttl: number | undefined): Event | undefined => {
    let best: Event | undefined;
    for (const e of events) if (e.id === id && e.t <= ts && (!best || e.t > best.t)) best = e;
    return best && (ttl === undefined || ts - best.t <= ttl) ? best : undefined;
  };

  before(async () => {
    await client.connect();
    await client.query(`create schema "${schema}"`);
    await client.query(`create table "${schema}".events (customer_id int8, event_time timestamptz, age int4, balance numeric(12,2), note text)`);
    for (let i = 0; i < events.length; i += 500) {
      const part = events.slice(i, i + 500);
      const params = part.flatMap((e) => [e.id, new Date(e.t).toISOString(), e.age, e.balance]);
      await client.query(`insert into "${schema}".events values ${part.map((_, j) => `($${j * 4 + 1}, $${j * 4 + 2}, $${j * 4 + 3}, $${j * 4 + 4}, 'x')`).join(', ')}`, params);
    }
    writeFileSync(join(tmp.dir, 'features.yaml'), `entities: [{name: customer, key: customer_id}]
views:
  - name: stats
    entity: customer
    source: {postgres: "${PG_URL}", table: ${schema}.events}
    timestamp: event_time
    features: [age, balance]
    ttl: 20d
  - name: rich
    entity: customer
    source: {postgres: "${PG_URL}", query: "select customer_id, event_time, balance as rich_balance from ${schema}.events where balance > 1000"}
    timestamp: event_time
    features: [rich_balance]
services:
  - {name: churn, features: [age, balance, rich_balance], transforms: {older: "age + 1"}}
`);
    const applied = await runCli(['features', 'apply', join(tmp.dir, 'features.yaml')], env);
    assert.equal(applied.code, 0, applied.stderr);
  });
  after(async () => {
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
    tmp.cleanup();
  });

  it('materialises the latest value per entity within ttl, then only what is new', async () => {
    const first = await runCli(['features', 'materialize', '--until', String(UNTIL - 10 * DAY), '--chunk-size', '50', '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    const second = await runCli(['features', 'materialize', '--until', String(UNTIL), '--json'], env);
    assert.equal(second.code, 0, second.stderr);
    const [stats] = JSON.parse(second.stdout) as { view: string; rows: number }[];
    const changed = new Set(events.filter((e) => e.t > UNTIL - 10 * DAY && e.t <= UNTIL).map((e) => e.id));
    assert.equal(stats?.rows, changed.size, 'the second run writes only entities with events after the first watermark');
    const app = await openFerry(loadConfig(env));
    try {
      const lookups = await app.featureLookups();
      const ids = Array.from({ length: 300 }, (_, id) => id);
      const store = lookups.store;
      const [rows = [], rich = []] = await store.read([{ name: 'stats', entity: 'customer' }, { name: 'rich', entity: 'customer' }], ids.map(String));
      for (const id of ids) {
        // In the store: the latest up to UNTIL that was within ttl when it was loaded.
        const inFirst = asOf(id, UNTIL - 10 * DAY, TTL);
        const latest = events.filter((e) => e.id === id && e.t > UNTIL - 10 * DAY && e.t <= UNTIL).sort((a, b) => b.t - a.t)[0] ?? inFirst;
        assert.equal(rows[id]?.values.age ?? null, latest?.age ?? null, `stats of ${id}`);
        assert.equal(rows[id]?.values.balance ?? null, latest?.balance ?? null, `balance of ${id}`);
        const richLatest = events.filter((e) => e.id === id && e.t <= UNTIL && e.balance > 1000).sort((a, b) => b.t - a.t)[0];
        assert.equal(rich[id]?.values.rich_balance ?? null, richLatest?.balance ?? null, `rich of ${id}`);
      }
    } finally {
      await app.close();
    }
  });

  it('the training set equals an independent point-in-time join', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({ customer_id: i % 7 === 0 ? 1000 + i : Math.floor(r.uniform() * 300), as_of: T0 + Math.floor(r.uniform() * 130 * 24) * 3_600_000 }));
    writeFileSync(join(tmp.dir, 'entities.jsonl'), rows.map((x) => JSON.stringify({ customer_id: x.customer_id, as_of: new Date(x.as_of).toISOString() })).join('\n'));
    const out = join(tmp.dir, 'train.parquet');
    const res = await runCli(['features', 'training-set', 'churn', '--entities', join(tmp.dir, 'entities.jsonl'), '--timestamp', 'as_of', '--output', out], env);
    assert.equal(res.code, 0, res.stderr);
    const got = await readRows([out]);
    assert.equal(got.length, rows.length);
    let seen = 0;
    got.forEach((g, i) => {
      const want = rows[i]!;
      const s = asOf(want.customer_id, want.as_of, TTL);
      let rich: Event | undefined;
      for (const e of events) if (e.id === want.customer_id && e.t <= want.as_of && e.balance > 1000 && (!rich || e.t > rich.t)) rich = e;
      if (s) seen++;
      assert.equal(g.age === null ? null : Number(g.age), s?.age ?? null, `row ${i} age`);
      assert.equal(g.balance === null ? null : Number(g.balance), s?.balance ?? null, `row ${i} balance`);
      assert.equal(g.rich_balance === null ? null : Number(g.rich_balance), rich?.balance ?? null, `row ${i} rich_balance`);
      assert.equal(g.older === null ? null : Number(g.older), s ? s.age + 1 : null, `row ${i} older`);
    });
    assert.ok(seen > 100, `rows with a value: ${seen}`);
  });

  it('a source PostgreSQL cannot read fails with FERRY_E_FEATURE_SOURCE naming the view', async () => {
    const bad = join(tmp.dir, 'bad.yaml');
    const home = { FERRY_HOME: join(tmp.dir, 'home-bad'), FERRY_ACTOR: 'tester' };
    writeFileSync(bad, `entities: [{name: c, key: id}]\nviews: [{name: gone, entity: c, source: {postgres: "${PG_URL}", table: ${schema}.nope}, timestamp: t, features: [x]}]\n`);
    assert.equal((await runCli(['features', 'apply', bad], home)).code, 0);
    const res = await runCli(['features', 'materialize'], home);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /FERRY_E_FEATURE_SOURCE: Cannot read the source of feature view "gone": postgres:\/\/.*relation ".*nope" does not exist/);
  });
});
