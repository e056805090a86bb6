/**
 * A server process's side of `serve --processes N` (serving/cluster/worker-group.ts) over an
 * in-memory channel standing in for the primary: metrics are summed from every answer, a change
 * resolves only when the primary has every other process's answer, questions are answered by the
 * joined member (and harmlessly before it joined); live traffic of several processes adds up.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { Counter, Gauge, Registry } from 'prom-client';
import { ferry } from '../src/core/errors.js';
import { TrafficRecorder } from '../src/monitoring/traffic.js';
import type { FailedEvent, ScoredEvent } from '../src/scoring/pipeline-hooks.js';
import type { ToPrimary } from '../src/serving/cluster/messages.js';
import { clusterGroup } from '../src/serving/cluster/worker-group.js';
import type { MetricsSnapshot, ServedChange } from '../src/serving/process-group.js';

/** A channel whose sent messages are recorded and whose incoming ones the test delivers. */
function channel() {
  const events = new EventEmitter();
  const sent: ToPrimary[] = [];
  return {
    sent,
    deliver: (m: unknown) => events.emit('message', m),
    send: (m: ToPrimary) => { sent.push(m); return true; },
    on: (e: 'message', l: (m: unknown) => void) => events.on(e, l),
    off: (e: 'message', l: (m: unknown) => void) => events.off(e, l),
  };
}

async function snapshotOf(requests: number, loaded: number): Promise<MetricsSnapshot> {
  const registry = new Registry();
  new Counter({ name: 'ferry_requests_total', help: 'h', labelNames: ['code'], registers: [registry] }).labels('200').inc(requests);
  new Gauge({ name: 'ferry_models_loaded', help: 'h', registers: [registry], aggregator: 'max' }).set(loaded);
  return registry.getMetricsAsJSON();
}

const tick = () => new Promise((r) => setImmediate(r));

describe('a process of a server group', () => {
  it('sums every process\'s metrics (counters added, gauges by their aggregator)', async () => {
    const c = channel();
    const group = clusterGroup(2, c);
    assert.equal(group.lead, false);
    const pending = group.metrics(new Registry());
    const ask = c.sent.at(-1);
    assert.ok(ask?.ferry === 'ask' && ask.question.kind === 'metrics' && ask.self, 'metrics are asked of every process, this one included');
    c.deliver({ ferry: 'answers', id: ask.id, answers: [await snapshotOf(3, 2), await snapshotOf(4, 2), null] });
    const text = await (await pending).metrics();
    assert.match(text, /^ferry_requests_total\{code="200"\} 7$/m);
    assert.match(text, /^ferry_models_loaded 2$/m);
  });

  it('announces a change and resolves only when the primary has the other processes\' answers', async () => {
    const c = channel();
    const group = clusterGroup(1, c);
    assert.equal(group.lead, true);
    let done = false;
    const pending = group.announce({ kind: 'unload', model: 'm' }).then(() => { done = true; });
    const ask = c.sent.at(-1);
    assert.ok(ask?.ferry === 'ask' && ask.question.kind === 'change' && !ask.self);
    await tick();
    assert.equal(done, false);
    c.deliver({ ferry: 'answers', id: ask.id, answers: [null] });
    await pending;
    assert.equal(done, true);
  });

  it('answers the primary\'s questions with its member, and with nothing before it joined', async () => {
    const c = channel();
    const group = clusterGroup(2, c);
    c.deliver({ ferry: 'question', id: 7, question: { kind: 'metrics' } });
    await tick();
    assert.deepEqual(c.sent.at(-1), { ferry: 'answer', id: 7, answer: [] });
    const applied: ServedChange[] = [];
    const leave = group.join({ snapshot: () => snapshotOf(5, 1), apply: (change) => { applied.push(change); return Promise.resolve(); }, traffic: () => ({ series: [] }) });
    c.deliver({ ferry: 'question', id: 8, question: { kind: 'change', change: { kind: 'refresh' } } });
    c.deliver({ ferry: 'question', id: 9, question: { kind: 'metrics' } });
    await tick();
    await tick();
    assert.deepEqual(applied, [{ kind: 'refresh' }]);
    assert.deepEqual(c.sent.find((m) => m.ferry === 'answer' && m.id === 8), { ferry: 'answer', id: 8, answer: null });
    const metrics = c.sent.find((m) => m.ferry === 'answer' && m.id === 9);
    assert.ok(metrics?.ferry === 'answer' && Array.isArray(metrics.answer) && metrics.answer.some((x) => x.name === 'ferry_requests_total'));
    leave();
    // A change that fails here is still answered: the asking process must not wait for ever.
    group.join({ snapshot: () => snapshotOf(0, 0), apply: () => Promise.reject(new Error('not served')), traffic: () => ({ series: [] }) });
    c.deliver({ ferry: 'question', id: 10, question: { kind: 'change', change: { kind: 'unload', model: 'x' } } });
    await tick();
    await tick();
    assert.deepEqual(c.sent.find((m) => m.ferry === 'answer' && m.id === 10), { ferry: 'answer', id: 10, answer: null });
  });

  it('tells the primary when it listens', () => {
    const c = channel();
    clusterGroup(1, c).listening({ http: 'http://127.0.0.1:1', grpc: null });
    assert.deepEqual(c.sent, [{ ferry: 'listening', http: 'http://127.0.0.1:1', grpc: null }]);
  });
});

describe('live traffic of several processes', () => {
  const scored = (model: string, latencyMs: number, rows = 1) => ({ version: { model, version: 1 }, source: 'oip-rest', rows, latencyMs }) as unknown as ScoredEvent;
  const failed = (model: string): FailedEvent => ({ source: 'oip-rest', model, version: 1, error: ferry('FERRY_E_REQUEST_INVALID', { protocol: 'OIP', detail: 'x' }), latencyMs: 1 });

  it('adds the processes\' counts, rows, errors and latency histograms', () => {
    const now = () => 1_000_000_000;
    const a = new TrafficRecorder(now);
    const b = new TrafficRecorder(now);
    for (const ms of [1, 1, 1]) a.scored(scored('m', ms, 2));
    for (const ms of [100, 100]) b.scored(scored('m', ms));
    b.failed(failed('m'));
    const merged = new TrafficRecorder(now);
    merged.absorb(a.export(60));
    merged.absorb(b.export(60));
    const [series] = merged.snapshot({ model: 'm', seconds: 60 }).series;
    assert.equal(series?.requests, 6);
    assert.equal(series?.rows, 8);
    assert.deepEqual(series?.errors, { '400 FERRY_E_REQUEST_INVALID': 1 });
    assert.ok((series?.p99 ?? 0) >= 100 && (series?.p50 ?? 100) < 100, 'percentiles over both processes\' latencies');
    assert.equal(merged.rates(60).get('m'), 6 / 60);
  });

  it('keeps the newer second when clocks a second apart put two seconds on one slot', () => {
    let t = 1_000_000_000;
    const early = new TrafficRecorder(() => t);
    early.scored(scored('m', 1));
    t += 300_000;
    const late = new TrafficRecorder(() => t);
    late.scored(scored('m', 1));
    late.scored(scored('m', 1));
    const merged = new TrafficRecorder(() => t);
    merged.absorb(late.export(300));
    merged.absorb({ series: early.export(300).series });
    assert.equal(merged.snapshot({ model: 'm', seconds: 300 }).series[0]?.requests, 2);
  });
});
