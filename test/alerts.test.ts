/**
 * Alerts against real stores (SQLite, PostgreSQL) and a real local HTTP receiver (port 0)
 * that fails the first attempts: retries with backoff, deduplication, resolution, failed
 * delivery, the retraining hook (a command), history, and the CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openFerry, type Ferry } from '../src/main/ferry.js';
import { loadConfig } from '../src/core/config.js';
import { listEvents, removeRule, saveRule, type AlertRule } from '../src/monitoring/alerts-store.js';
import { AlertEngine, countsFromPrometheus } from '../src/monitoring/alerts.js';
import { applyFeedback } from '../src/monitoring/feedback.js';
import { insertPredictions } from '../src/monitoring/prediction-log-store.js';
import { runCli } from './helpers/cli.js';
import { fixture, table } from './helpers/fixtures.js';
import { storeEnvs } from './helpers/stores.js';

const breast = fixture('breast_mlp');

/** A webhook receiver: answers `failFirst` requests with 503, then 200; keeps the bodies. */
async function receiver(failFirst: number, always?: number): Promise<{ url: string; bodies: Record<string, unknown>[]; hits: () => number; close: () => Promise<void> }> {
  const bodies: Record<string, unknown>[] = [];
  let hits = 0;
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => { data += d.toString(); });
    req.on('end', () => {
      hits++;
      bodies.push(JSON.parse(data) as Record<string, unknown>);
      const status = always ?? (hits <= failFirst ? 503 : 200);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, hits: () => hits, close: () => new Promise((resolve) => { server.close(() => resolve()); }) };
}

/** Log the fixture rows (features scaled by `factor`) as predictions at time `at`; half as one tensor per row. */
async function logRows(app: Ferry, at: number, factor: number, tag: string): Promise<void> {
  const { columns, rows } = table(breast);
  await insertPredictions(app.database, rows.map((r, i) => {
    const values = r.map((v) => Number(v) * factor);
    const inputs = i % 2 === 0 ? Object.fromEntries(columns.map((c, j) => [c, values[j]])) : { input: values };
    return { id: `${tag}-${i}`, model: 'breast', version: 1, at: at + i, source: 'batch', inputs: JSON.stringify(inputs), outputs: JSON.stringify({ label: 1, probabilities: [0.2, 0.8] }), latencyMs: 5 + i, confidence: null, lowConfidence: false };
  }));
}

const FAST = { attempts: 4, baseDelayMs: 20, timeoutMs: 2000 };

const envs = await storeEnvs();
for (const store of envs) {
  describe(`alerts (${store.name})`, () => {
    let app: Ferry;
    const T = Date.now();
    before(async () => {
      const r = await runCli(['register', breast.model, '-n', 'breast', '--reference', breast.input, '--reference-ignore', 'id'], store.env);
      assert.equal(r.code, 0, r.stderr);
      app = await openFerry(loadConfig(store.env));
      await logRows(app, T - 30 * 60_000, 1.6, 'shifted');
    });
    after(async () => {
      await app.close();
      await store.cleanup();
    });

    const rule = (over: Partial<AlertRule>): AlertRule => ({ name: 'r', model: 'breast', kind: 'drift', threshold: 0.5, window: '1h', webhooks: [], dedupSeconds: 3600, enabled: true, createdAt: new Date().toISOString(), ...over });

    it('drift fires: delivered after retries with backoff, the hook runs, a repeat is deduplicated, recovery is sent as resolved', async () => {
      const hook = await receiver(2);
      const marker = join(store.dir, 'retrained');
      await saveRule(app.database, rule({ name: 'breast-drift', webhooks: [hook.url], hook: { command: `echo "$FERRY_ALERT_RULE $FERRY_ALERT_STATE" > '${marker}'` } }));
      try {
        let now = T;
        const engine = new AlertEngine(app, { delivery: FAST, now: () => now });
        const [first] = await engine.tick();
        assert.equal(first?.verdict.state, 'firing', first?.verdict.message);
        assert.equal(first?.action, 'notified');
        assert.equal(hook.hits(), 3, 'two 503s, then delivered');
        assert.equal(hook.bodies[2]?.state, 'firing');
        assert.equal(hook.bodies[2]?.rule, 'breast-drift');
        assert.match(String(hook.bodies[2]?.message), /breast:1: \d+ of 30 feature\(s\) drifted/);
        assert.ok(existsSync(marker), 'the retraining command ran');
        assert.equal(readFileSync(marker, 'utf8').trim(), 'breast-drift firing');

        const [second] = await engine.tick();
        assert.equal(second?.action, 'deduplicated');
        assert.equal(hook.hits(), 3, 'the same rule and state is not re-sent within the dedup window');

        // An hour and a half later only normal traffic is in the window: resolved.
        await logRows(app, T + 60 * 60_000, 1, 'normal');
        now = T + 90 * 60_000;
        const [third] = await engine.tick();
        assert.equal(third?.verdict.state, 'ok', third?.verdict.message);
        assert.equal(third?.action, 'notified');
        assert.equal(hook.bodies[hook.bodies.length - 1]?.state, 'resolved');
        const [fourth] = await engine.tick();
        assert.equal(fourth?.action, 'unchanged');

        const history = await listEvents(app.database, { rule: 'breast-drift' });
        assert.deepEqual(history.map((e) => [e.state, e.delivery, e.attempts]), [['resolved', 'delivered', 1], ['firing', 'delivered', 3]]);
      } finally {
        await hook.close();
        await removeRule(app.database, 'breast-drift');
      }
    });

    it('a receiver that keeps failing: every attempt is made, the delivery is recorded as failed and retried on the next tick', async () => {
      const down = await receiver(0, 500);
      await saveRule(app.database, rule({ name: 'latency', kind: 'latency-p99', threshold: 10, webhooks: [down.url] }));
      try {
        const engine = new AlertEngine(app, { delivery: FAST, now: () => T });
        const results = await engine.tick();
        const r = results.find((x) => x.rule === 'latency');
        assert.equal(r?.verdict.state, 'firing', r?.verdict.message);
        assert.equal(r?.verdict.value, 54, 'p99 of latencies 5..54 ms');
        assert.equal(down.hits(), 4);
        const [e] = await listEvents(app.database, { rule: 'latency' });
        assert.deepEqual([e?.delivery, e?.attempts, e?.error], ['failed', 4, `${down.url}: HTTP 500 after 4 attempt(s)`]);
        await engine.tick();
        assert.equal(down.hits(), 8, 'a failed delivery is not deduplicated');
      } finally {
        await down.close();
        await removeRule(app.database, 'latency');
      }
    });

    it('error rate from request counters; no verdict without counters', async () => {
      await saveRule(app.database, rule({ name: 'errors', kind: 'error-rate', threshold: 0.1, webhooks: [] }));
      let counts = { total: 100, errors: 5 };
      const engine = new AlertEngine(app, { delivery: FAST, now: () => T, requestCounter: () => Promise.resolve(counts) });
      const pick = async () => (await engine.tick()).find((x) => x.rule === 'errors');
      assert.equal((await pick())?.verdict.state, 'ok');
      counts = { total: 200, errors: 35 };
      const firing = await pick();
      assert.deepEqual([firing?.verdict.state, firing?.verdict.value, firing?.event?.delivery], ['firing', 0.3, 'no-webhook']);
      const none = (await new AlertEngine(app, { now: () => T }).tick()).find((x) => x.rule === 'errors');
      assert.equal(none?.action, 'skipped');
      await removeRule(app.database, 'errors');
      assert.equal(countsFromPrometheus('# HELP x\nferry_requests_total{model="breast",version="1",protocol="oip",code="200"} 90\nferry_requests_total{model="breast",version="1",protocol="oip",code="500"} 10\nferry_requests_total{model="other",version="1",protocol="oip",code="500"} 7\n', 'breast')?.errors, 10);
    });

    it('a live metric below its threshold fires once enough labelled predictions exist', async () => {
      await saveRule(app.database, rule({ name: 'accuracy', kind: 'metric', metric: 'accuracy', threshold: 0.9, minRows: 20 }));
      try {
        const engine = new AlertEngine(app, { delivery: FAST, now: () => T });
        const pick = async () => (await engine.tick()).find((x) => x.rule === 'accuracy');
        assert.equal((await pick())?.action, 'skipped', 'no labels yet: no verdict');
        // Every shifted row was predicted 1; label 30 of the 50 as 1 → accuracy 0.6.
        await applyFeedback(app.database, Array.from({ length: 50 }, (_, i) => ({ prediction_id: `shifted-${i}`, actual: i < 30 ? 1 : 0 })));
        const fired = await pick();
        assert.deepEqual([fired?.verdict.state, fired?.verdict.value, fired?.event?.delivery], ['firing', 0.6, 'no-webhook']);
        assert.match(fired?.verdict.message ?? '', /live accuracy 0.6 below 0.9 over 50 labelled prediction\(s\)/);
      } finally {
        await removeRule(app.database, 'accuracy');
      }
    });

    it('CLI: add validates rules, list, run --once, history', async () => {
      const cli = (args: string[]) => runCli(args, store.env);
      const bad = await cli(['alerts', 'add', 'x', '--model', 'breast', '--kind', 'latency']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /FERRY_E_ALERT_RULE_INVALID: Alert rule is not valid: --kind "latency" is not one of drift, metric, error-rate, latency-p99/);
      const hook = await receiver(1);
      try {
        const add = await cli(['alerts', 'add', 'cli-drift', '--model', 'breast', '--kind', 'drift', '--window', '7d', '--webhook', hook.url, '--json']);
        assert.equal(add.code, 0, add.stderr);
        const list = await cli(['alerts', 'list']);
        assert.match(list.stdout, /cli-drift\s+breast\s+drift\s+breast: drifted share ≥ 0.5 over 7d/);
        const run = await cli(['alerts', 'run', '--once', '--backoff', '10', '--json']);
        assert.equal(run.code, 0, run.stderr);
        const results = JSON.parse(run.stdout) as { rule: string; action: string; event?: { delivery: string; attempts: number } }[];
        const mine = results.find((r) => r.rule === 'cli-drift');
        assert.ok(mine?.action === 'notified' || mine?.action === 'unchanged', JSON.stringify(mine));
        const history = await cli(['alerts', 'history', '--rule', 'cli-drift', '--json']);
        const events = JSON.parse(history.stdout) as { state: string }[];
        assert.equal(events.length, mine?.action === 'notified' ? 1 : 0);
        const removed = await cli(['alerts', 'remove', 'cli-drift']);
        assert.equal(removed.code, 0, removed.stderr);
        const again = await cli(['alerts', 'remove', 'cli-drift']);
        assert.equal(again.code, 3);
        assert.match(again.stderr, /FERRY_E_ALERT_RULE_NOT_FOUND/);
      } finally {
        await hook.close();
      }
    });
  });
}
