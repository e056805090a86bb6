/**
 * Point-in-time training sets (`ferry features training-set`): on generated data with several
 * timestamps per entity in two views, the DuckDB join equals a join computed independently in
 * this test (a plain scan per row: the latest event at or before the row's time, dropped when
 * older than the view's ttl), including rows before any event, ttl expiry, entities with no
 * history, and the request-time transform; entity rows keep their order and columns.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { evaluate, parseExpression } from '../src/features/expression.js';
import { readRows } from './helpers/batch.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { rng } from './helpers/random.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const TTL_DAYS = 30;
const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

interface Event { id: number; t: number; values: Record<string, number> }

describe('ferry features training-set: the point-in-time join equals an independent one', () => {
  const tmp = tempDir('ferry-ftrain-');
  const env = { FERRY_HOME: join(tmp.dir, 'home'), FERRY_ACTOR: 'tester' };
  after(() => tmp.cleanup());
  const r = rng(16);
  const stats: Event[] = [];
  const activity: Event[] = [];
  // 60 customers with history; ids 900+ have none. Event times on whole minutes, some equal to row times.
  for (let id = 0; id < 60; id++) {
    for (let k = 0; k < 1 + Math.floor(r.uniform() * 6); k++) {
      stats.push({ id, t: T0 + Math.floor(r.uniform() * 200 * 24 * 60) * 60_000, values: { age: 18 + Math.floor(r.uniform() * 60), balance: Math.round(r.normal(1000, 400)), n_orders: Math.floor(r.uniform() * 4) } });
    }
    for (let k = 0; k < Math.floor(r.uniform() * 4); k++) activity.push({ id, t: T0 + Math.floor(r.uniform() * 200 * 24 * 60) * 60_000, values: { clicks: Math.floor(r.uniform() * 100) } });
  }
  // No two events of one entity at the same time (the latest would be ambiguous).
  const dedupe = (events: Event[]) => events.filter((e, i) => events.findIndex((x) => x.id === e.id && x.t === e.t) === i);
  const statsEvents = dedupe(stats);
  const activityEvents = dedupe(activity);
  const entities: { customer_id: number; ts: number; label: number }[] = [];
  for (let i = 0; i < 400; i++) {
    const id = r.uniform() < 0.1 ? 900 + i : Math.floor(r.uniform() * 60);
    // Some rows exactly at an event's time (≤ includes it).
    const exact = statsEvents.find((e) => e.id === id && r.uniform() < 0.05);
    entities.push({ customer_id: id, ts: exact ? exact.t : T0 + Math.floor(r.uniform() * 230 * 24 * 60) * 60_000, label: i % 2 });
  }

  /** The independent join: scan every event of the entity. */
  function asOf(events: readonly Event[], id: number, ts: number, ttlMs: number | undefined): Record<string, number> | undefined {
    let best: Event | undefined;
    for (const e of events) if (e.id === id && e.t <= ts && (!best || e.t > best.t)) best = e;
    if (!best || (ttlMs !== undefined && ts - best.t > ttlMs)) return undefined;
    return best.values;
  }

  it('matches value for value, with ttl expiry, rows before any event and entities without history', async () => {
    const statsCsv = join(tmp.dir, 'stats.csv');
    writeFileSync(statsCsv, `customer_id,event_time,age,balance,n_orders\n${statsEvents.map((e) => `${e.id},${iso(e.t)},${e.values.age},${e.values.balance},${e.values.n_orders}`).join('\n')}\n`);
    const activityJsonl = join(tmp.dir, 'activity.jsonl');
    writeFileSync(activityJsonl, `${activityEvents.map((e) => JSON.stringify({ customer_id: e.id, at: new Date(e.t).toISOString(), clicks: e.values.clicks })).join('\n')}\n`);
    const entitiesCsv = join(tmp.dir, 'entities.csv');
    writeFileSync(entitiesCsv, `customer_id,ts,label\n${entities.map((e) => `${e.customer_id},${iso(e.ts)},${e.label}`).join('\n')}\n`);
    const yaml = join(tmp.dir, 'features.yaml');
    writeFileSync(yaml, `entities: [{name: customer, key: customer_id}]
views:
  - {name: customer_stats, entity: customer, source: {path: stats.csv}, timestamp: event_time, features: [age, balance, n_orders], ttl: ${TTL_DAYS}d}
  - {name: customer_activity, entity: customer, source: {path: activity.jsonl}, timestamp: at, features: [clicks]}
services:
  - name: churn
    features: [age, balance, n_orders, clicks]
    transforms: {balance_per_order: "balance / max(n_orders, 1)"}
`);
    assert.equal((await runCli(['features', 'apply', yaml], env)).code, 0);
    const out = join(tmp.dir, 'train.parquet');
    const res = await runCli(['features', 'training-set', 'churn', '--entities', entitiesCsv, '--timestamp', 'ts', '--output', out, '--json'], env);
    assert.equal(res.code, 0, res.stderr);
    assert.equal((JSON.parse(res.stdout) as { rows: number }).rows, entities.length);
    const got = await readRows([out]);
    assert.equal(got.length, entities.length);
    const transform = parseExpression('balance / max(n_orders, 1)');
    let expired = 0;
    let none = 0;
    got.forEach((row, i) => {
      const e = entities[i]!;
      assert.equal(Number(row.customer_id), e.customer_id, `row ${i} keeps its order`);
      assert.equal(Number(row.label), e.label, `row ${i} keeps its columns`);
      const s = asOf(statsEvents, e.customer_id, e.ts, TTL_DAYS * DAY);
      const a = asOf(activityEvents, e.customer_id, e.ts, undefined);
      if (!s && asOf(statsEvents, e.customer_id, e.ts, undefined)) expired++;
      if (!s && !a) none++;
      for (const f of ['age', 'balance', 'n_orders'] as const) assert.equal(row[f] === null ? null : Number(row[f]), s?.[f] ?? null, `row ${i} ${f}`);
      assert.equal(row.clicks === null ? null : Number(row.clicks), a?.clicks ?? null, `row ${i} clicks`);
      const want = s ? evaluate(transform, (n) => s[n]) : null;
      assert.equal(row.balance_per_order, want, `row ${i} balance_per_order`);
    });
    assert.ok(expired >= 5, `the data exercises ttl expiry (${expired} rows)`);
    assert.ok(none >= 20, `the data has rows with no history (${none})`);
  });
});
