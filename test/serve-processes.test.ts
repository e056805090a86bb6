/**
 * `ferry serve --processes 2`: real processes on free ports sharing one HTTP and one gRPC port.
 * Requests reach both processes; /metrics sums them; a change made through one process (alias
 * move, repository unload/load) is served by every process when its answer arrives; every
 * process writes the prediction log; a killed process is replaced without its counts going
 * backwards; SIGTERM drains every process.
 */
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from './helpers/cli.js';
import { ferryCli, tempDir } from './helpers/env.js';
import { fixture, numericRows } from './helpers/fixtures.js';
import { grpcInfer } from './helpers/grpc-client.js';
import { startServe, type ServeProcess } from './helpers/server.js';

const bc = fixture('breast_mlp');
const row = numericRows(bc)[0] ?? [];
const oip = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, row.length], data: row }] });

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One request on a connection of its own: the cluster hands each new connection to the next process. */
function send(url: string, method: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The sum of a metric's samples whose labels include every `labels` pair. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** The `process` label → value of ferry_process_requests_total. */
function perProcess(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^ferry_process_requests_total\{process="(\d+)"\} (\S+)$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('ferry serve --processes 2', () => {
  const tmp = tempDir('ferry-procs-');
  const home = join(tmp.dir, 'home');
  const env = { FERRY_HOME: home };
  let server: ServeProcess;
  let pids: number[] = [];
  const metricsText = async () => (await send(`${server.url}/metrics`, 'GET')).body;
  const infer = () => send(`${server.url}/v2/models/bc/infer`, 'POST', oip);

  before(async () => {
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['register', bc.model, '--name', 'bc', ...(i === 0 ? ['--alias', 'champion'] : [])], env);
      assert.equal(r.code, 0, r.stderr);
    }
    const config = join(tmp.dir, 'ferry.yaml');
    writeFileSync(config, 'models:\n  - name: bc\n    log: true\nprediction_log: { flush_interval_ms: 20 }\n');
    server = await startServe(env, ['--processes', '2', '--config', config]);
    const serving = server.output().split('\n').find((l) => l.includes('"ferry serving"')) ?? '{}';
    pids = (JSON.parse(serving) as { pids?: number[] }).pids ?? [];
  });
  after(async () => {
    if (server) {
      const code = await server.stop();
      assert.equal(code, 0, `SIGTERM drains every process and exits 0:\n${server.output()}`);
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'no server process is left behind');
    }
    tmp.cleanup();
  });

  it('starts two processes on one port and reports ready once both listen', async () => {
    assert.equal(pids.length, 2);
    // Each process writes its own log line; the primary's "ferry serving" can reach the pipe first.
    await waitFor('both processes\' log lines', () => server.output().match(/"server process listening"/g)?.length === 2, 10_000);
    assert.equal((await send(`${server.url}/v2/health/ready`, 'GET')).status, 200);
  });

  it('answers every protocol from both processes and /metrics sums their counts', async () => {
    const before = await metricsText();
    const sent = 40;
    const answers = await Promise.all(Array.from({ length: sent }, () => infer()));
    assert.deepEqual(answers.map((a) => a.status), Array(sent).fill(200));
    const mlflow = await send(`${server.url}/models/bc/invocations`, 'POST', JSON.stringify({ instances: [row] }));
    assert.equal(mlflow.status, 200, mlflow.body);
    const kserve = await send(`${server.url}/v1/models/bc:predict`, 'POST', JSON.stringify({ instances: [row] }));
    assert.equal(kserve.status, 200, kserve.body);
    assert.ok(server.grpcPort);
    for (let i = 0; i < 4; i++) {
      const { res } = await grpcInfer(server.grpcPort, { model_name: 'bc', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, row.length], contents: { fp32_contents: row } }] });
      assert.deepEqual((res.outputs as { name: string }[]).map((o) => o.name), ['label', 'probabilities']);
    }
    const text = await metricsText();
    const counted = metric(text, 'ferry_requests_total', { model: 'bc', code: '200' }) - metric(before, 'ferry_requests_total', { model: 'bc', code: '200' });
    assert.equal(counted, sent + 2 + 4, 'every request counted once, whichever process answered');
    const processes = perProcess(text);
    assert.deepEqual([...processes.keys()].sort(), ['1', '2']);
    for (const [p, n] of processes) assert.ok(n > 0, `process ${p} answered requests (${n})`);
    assert.equal([...processes.values()].reduce((a, b) => a + b, 0), metric(text, 'ferry_requests_total'));
    assert.equal(metric(text, 'ferry_request_duration_seconds_count', { model: 'bc' }), metric(text, 'ferry_requests_total', { model: 'bc', code: '200' }), 'histograms are summed too');
    assert.equal(metric(text, 'ferry_models_loaded'), 2, 'loaded versions are not counted once per process');
    const live = JSON.parse((await send(`${server.url}/ferry/v1/traffic?model=bc&seconds=300`, 'GET')).body) as { series: { requests: number }[] };
    assert.equal(live.series.reduce((n, s) => n + s.requests, 0), metric(text, 'ferry_requests_total', { model: 'bc' }), 'the dashboard\'s live traffic counts every process');
  });

  it('writes the prediction log from every process', async () => {
    const text = await metricsText();
    const answered = metric(text, 'ferry_requests_total', { model: 'bc', code: '200' });
    await waitFor('every logged row written', async () => metric(await metricsText(), 'ferry_prediction_log_written_total') >= answered);
    const db = new Database(join(home, 'registry.db'), { readonly: true });
    try {
      // Rows in blocks (one per flushed batch, per process) and in the table.
      const blocks = db.prepare("select coalesce(sum(rows - dead_rows), 0) as n from prediction_block where model_name = 'bc'").get() as { n: number };
      const rows = db.prepare("select count(*) as n from prediction_log where model_name = 'bc'").get() as { n: number };
      assert.equal(rows.n + blocks.n, answered, 'one row per answered request, from both processes');
      assert.ok(blocks.n > 0, 'tensor requests are logged in blocks');
    } finally {
      db.close();
    }
    assert.equal(metric(await metricsText(), 'ferry_prediction_log_dropped_total'), 0);
  });

  it('serves an alias move made through one process from every process when its answer arrives', async () => {
    const moved = await send(`${server.url}/ferry/v1/models/bc/aliases/champion`, 'PUT', JSON.stringify({ version: 2 }));
    assert.equal(moved.status, 200, moved.body);
    const answers = await Promise.all(Array.from({ length: 12 }, () => send(`${server.url}/v2/models/bc/versions/champion/infer`, 'POST', oip)));
    assert.deepEqual(answers.map((a) => a.headers['x-ferry-model-version']), Array(12).fill('2'));
  });

  it('unloads and loads a model in every process through the repository API', async () => {
    assert.equal((await send(`${server.url}/v2/repository/models/bc/unload`, 'POST', '{}')).status, 200);
    const unloaded = await Promise.all(Array.from({ length: 8 }, () => infer()));
    assert.deepEqual(unloaded.map((a) => a.status), Array(8).fill(503));
    assert.equal((await send(`${server.url}/v2/repository/models/bc/load`, 'POST', '{}')).status, 200);
    const loaded = await Promise.all(Array.from({ length: 8 }, () => infer()));
    assert.deepEqual(loaded.map((a) => a.status), Array(8).fill(200));
  });

  it('replaces a killed process, logs it, and keeps the summed counts from going backwards', async () => {
    const before = metric(await metricsText(), 'ferry_requests_total');
    const victim = pids[0]!;
    process.kill(victim, 'SIGKILL');
    await waitFor('the replacement', () => server.output().includes('"server process replaced and listening"'));
    assert.match(server.output(), new RegExp(`"pid":${victim},"code":null,"signal":"SIGKILL".*"server process exited unexpectedly; starting a replacement"`));
    const answers = await Promise.all(Array.from({ length: 10 }, () => infer()));
    assert.deepEqual(answers.map((a) => a.status), Array(10).fill(200));
    const text = await metricsText();
    assert.ok(metric(text, 'ferry_requests_total') >= before + 10, 'the killed process\'s counts (as of the last scrape) are kept');
    const replaced = /"process":(\d),"pid":(\d+),"msg":"server process replaced and listening"/.exec(server.output());
    assert.ok(replaced && Number(replaced[2]) !== victim);
    pids = [...pids.filter((p) => p !== victim), Number(replaced[2])];
    for (const [p, n] of perProcess(text)) assert.ok(n > 0, `process ${p} answers after the replacement`);
  });

  it('drains in-flight requests on SIGTERM before every process exits', async () => {
    // Requests whose headers have arrived (so they are in flight in both processes) but whose bodies
    // end only after SIGTERM: each must still be answered, then every process exits.
    const half = Math.floor(oip.length / 2);
    const pending = Array.from({ length: 4 }, () => {
      const req = request(`${server.url}/v2/models/bc/infer`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(oip)) } });
      const answer = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
        req.on('error', reject);
      });
      req.write(oip.slice(0, half));
      return { req, answer };
    });
    await new Promise((r) => setTimeout(r, 500));
    const code = server.stop();
    await new Promise((r) => setTimeout(r, 500));
    for (const p of pending) p.req.end(oip.slice(half));
    assert.deepEqual(await Promise.all(pending.map((p) => p.answer)), [200, 200, 200, 200]);
    assert.equal(await code, 0);
    assert.match(server.output(), /"process":1,.*"msg":"server process stopped"/);
    assert.match(server.output(), /"process":2,.*"msg":"server process stopped"/);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0));
  });
});

describe('ferry serve --processes 2 when its primary is killed', () => {
  it('leaves no server process behind', async () => {
    const tmp = tempDir('ferry-procs-kill-');
    const env = { FERRY_HOME: join(tmp.dir, 'home') };
    try {
      const r = await runCli(['register', bc.model, '--name', 'bc'], env);
      assert.equal(r.code, 0, r.stderr);
      const server = await startServe(env, ['--processes', '2', '--grpc-port', 'off']);
      const line = server.output().split('\n').find((l) => l.includes('"ferry serving"')) ?? '{}';
      const pids = (JSON.parse(line) as { pids?: number[] }).pids ?? [];
      assert.equal(pids.length, 2);
      server.proc.kill('SIGKILL');
      await waitFor('the server processes to exit', () => pids.every((pid) => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }), 10_000);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('ferry serve --processes 2 on a port that is taken', () => {
  it('stops every process and exits with the processes\' error', async () => {
    const tmp = tempDir('ferry-procs-busy-');
    const env = { FERRY_HOME: join(tmp.dir, 'home') };
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const r = await runCli(['register', bc.model, '--name', 'bc'], env);
      assert.equal(r.code, 0, r.stderr);
      const port = (holder.address() as AddressInfo).port;
      const run = await ferryCli(['serve', '--port', String(port), '--grpc-port', 'off', '--processes', '2'], env);
      assert.equal(run.code, 7, run.stderr);
      assert.match(run.stderr, /FERRY_E_CONFIG_INVALID: .*cannot listen for HTTP on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
      assert.match(run.stderr, /FERRY_E_SERVER_PROCESS_FAILED/);
      const started = [...run.stdout.matchAll(/"pid":(\d+),"msg":"server process started"/g)].map((m) => Number(m[1]));
      assert.equal(started.length, 2);
      for (const pid of started) assert.throws(() => process.kill(pid, 0), 'no server process is left behind');
    } finally {
      holder.close();
      tmp.cleanup();
    }
  });
});
