/**
 * `ferry export --report-url`: an exported package posts the predictions it makes, with the ids
 * it gives them, to a real `ferry serve` (in this process); they land in the prediction log as
 * source `edge`, ground truth attaches to those ids and live metrics count them. The reporter is
 * bounded and never fails `predict` when the server is away.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';

const MODEL = join(ROOT, 'fixtures/xgboost/breast_nan/model.json');
const INPUT = join(ROOT, 'fixtures/xgboost/breast_nan/input.csv');

interface Pkg {
  predict(rows: unknown[], o?: { keys?: string[] }): Promise<{ id: number; label: number; prediction_id?: string }[]>;
  report(o: { url: string; batchRows?: number; maxRows?: number; intervalMs?: number } | false): void;
  flushReports(): Promise<void>;
  reportStats(): { queued: number; sent: number; dropped: number; failedPosts: number } | undefined;
}

function csvObjects(path: string): Record<string, unknown>[] {
  const [head = '', ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const header = head.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i]!, v === '' ? null : Number(v)])));
}

/** A loopback port nobody listens on. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function until<T>(what: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await what();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('ferry export --report-url (edge predictions into the prediction log)', () => {
  let server: InProcess;
  let env: Record<string, string>;
  let pkg: Pkg;
  const tmp = tempDir('ferry-edge-report-');

  before(async () => {
    server = await startInProcess({ register: [{ path: MODEL, name: 'bc' }] });
    env = { FERRY_HOME: server.home };
    const out = join(tmp.dir, 'bc');
    const exp = await runCli(['export', 'bc', '--target', 'node', '--out', out, '--sample', INPUT, '--key', 'id', '--report-url', server.url], env);
    assert.equal(exp.code, 0, exp.stderr);
    pkg = (await import(pathToFileURL(join(out, 'index.js')).href)) as Pkg;
  });
  after(async () => {
    pkg?.report(false);
    await server?.cleanup();
    tmp.cleanup();
  });

  it('posts each prediction with its id; the log keeps them as source edge, feedback attaches, live metrics count them', async () => {
    const rows = csvObjects(INPUT);
    const first = await pkg.predict(rows.slice(0, 5), { keys: ['id'] });
    const rest = await pkg.predict(rows.slice(5), { keys: ['id'] });
    const all = [...first, ...rest];
    assert.ok(all.every((p) => typeof p.prediction_id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(p.prediction_id)), 'uuid v7 ids');
    assert.equal(new Set(all.map((p) => p.prediction_id)).size, all.length);
    await pkg.flushReports();
    assert.deepEqual(pkg.reportStats(), { queued: 0, sent: rows.length, dropped: 0, failedPosts: 0 });

    const logged = await until(async () => {
      const r = await runCli(['monitor', 'log', 'bc', '--limit', '1000', '--json'], env);
      const got = JSON.parse(r.stdout) as { id: string; source: string; outputs: Record<string, unknown>; inputs: Record<string, unknown> }[];
      return got.length >= rows.length ? got : undefined;
    });
    assert.equal(logged.length, rows.length);
    const byId = new Map(logged.map((p) => [p.id, p]));
    for (const p of all) {
      const entry = byId.get(p.prediction_id!);
      assert.ok(entry, `${p.prediction_id} logged`);
      assert.equal(entry.source, 'edge');
      assert.equal(entry.outputs.label, p.label);
      assert.equal(entry.inputs.id, undefined, 'key columns are not model inputs');
    }

    // Ground truth against the package's ids.
    const feedback = await fetch(`${server.url}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(all.map((p) => ({ prediction_id: p.prediction_id, actual: p.label }))) });
    assert.equal(feedback.status, 200);
    assert.equal((await feedback.json() as { attached: number }).attached, all.length);
    const metrics = await (await fetch(`${server.url}/ferry/v1/models/bc/metrics?window=1h`)).json() as { total: number; labelled: number; metrics: { accuracy: number } };
    assert.equal(metrics.total, all.length, 'live metrics count the edge predictions');
    assert.equal(metrics.labelled, all.length);
    assert.equal(metrics.metrics.accuracy, 1);
  });

  it('a repeated post (a retry) logs each id once; a digest that is not the version\'s is refused', async () => {
    const version = JSON.parse(readFileSync(join(tmp.dir, 'bc', 'package.json'), 'utf8')) as { ferry: { digest: string } };
    const body = { version: 1, digest: version.ferry.digest, batches: [{ at: Date.now(), latency_ms: 0.2, predictions: [{ prediction_id: 'retry-0000-0001', inputs: { mean_radius: 12 }, outputs: { label: 1, probabilities: [0.2, 0.8] } }] }] };
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${server.url}/ferry/v1/models/bc/edge-predictions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(r.status, 200, await r.text());
    }
    const rows = await until(async () => {
      const r = await runCli(['monitor', 'log', 'bc', '--limit', '1000', '--json'], env);
      const got = (JSON.parse(r.stdout) as { id: string }[]).filter((p) => p.id === 'retry-0000-0001');
      return got.length > 0 ? got : undefined;
    });
    await new Promise((r) => setTimeout(r, 400)); // the writer's flush interval: a second row would be there by now
    const again = JSON.parse((await runCli(['monitor', 'log', 'bc', '--limit', '1000', '--json'], env)).stdout) as { id: string }[];
    assert.equal(rows.length, 1);
    assert.equal(again.filter((p) => p.id === 'retry-0000-0001').length, 1);

    const bad = await fetch(`${server.url}/ferry/v1/models/bc/edge-predictions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, digest: 'sha256:00' }) });
    assert.equal(bad.status, 400);
    const error = await bad.json() as { code: string; error: string };
    assert.equal(error.code, 'FERRY_E_REQUEST_INVALID');
    assert.match(error.error, /digest "sha256:00" is not bc:1's/);
  });

  it('with the server away, predict still answers; the queue keeps at most maxRows (oldest dropped)', async () => {
    pkg.report({ url: `http://127.0.0.1:${await deadPort()}`, batchRows: 10, maxRows: 20, intervalMs: 20 });
    const rows = csvObjects(INPUT).slice(0, 10);
    for (let i = 0; i < 3; i++) assert.equal((await pkg.predict(rows, { keys: ['id'] })).length, 10);
    await pkg.flushReports();
    const stats = pkg.reportStats()!;
    assert.equal(stats.sent, 0);
    assert.ok(stats.failedPosts >= 1, JSON.stringify(stats));
    assert.equal(stats.queued + stats.dropped, 30);
    assert.ok(stats.queued <= 20, JSON.stringify(stats));
    pkg.report(false);
    assert.equal(pkg.reportStats(), undefined);
  });
});
