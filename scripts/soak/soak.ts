/**
 * The soak test: one `ferry serve` process under mixed traffic for a while — OIP REST (JSON and
 * binary), MLflow, gRPC, bad requests, alias moves from another process, batch runs and a
 * Redis stream consumer on the same registry — watched for errors (anything but 2xx/4xx),
 * memory growth after warm-up and file descriptors. Used by `npm run soak` (10 minutes) and by
 * test/reliability-soak.test.ts (a short run). Loopback only: 127.0.0.1 and the local Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Redis } from 'ioredis';
import { PROTO_OPTIONS, PROTO_PATH } from '../../src/serving/grpc/grpc-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/ferry.js');
const MODEL = join(ROOT, 'fixtures/models/breast_mlp');

export interface SoakOptions {
  readonly durationMs: number;
  /** Memory and descriptors are compared from the end of warm-up to the end of the run. */
  readonly warmupMs: number;
  readonly aliasEveryMs: number;
  readonly batchEveryMs: number;
  /** Concurrent request loops. */
  readonly clients: number;
  readonly redis?: { readonly host: string; readonly port: number };
  readonly progress?: (line: string) => void;
}

export interface SoakReport {
  readonly seconds: number;
  readonly requests: Readonly<Record<string, number>>;
  /** 5xx answers and transport failures: must be 0. */
  readonly failures: number;
  readonly failureSamples: readonly string[];
  /** Bad requests that did not get the 4xx they should. */
  readonly wrongRefusals: number;
  readonly aliasMoves: number;
  readonly batchRuns: number;
  readonly batchFailures: number;
  readonly stream: { readonly sent: number; readonly outputs: number; readonly duplicates: number; readonly missing: number };
  readonly rssMb: { readonly afterWarmup: number; readonly end: number; readonly growthPct: number };
  readonly fds: { readonly afterWarmup: number; readonly end: number };
  readonly threads: { readonly afterWarmup: number; readonly end: number };
}

interface Row { readonly values: number[]; readonly record: Record<string, number> }

function readRows(): Row[] {
  const [head, ...lines] = readFileSync(join(MODEL, 'input.csv'), 'utf8').trim().split('\n');
  const names = (head ?? '').split(',');
  return lines.map((line) => {
    const cells = line.split(',').map(Number);
    const record: Record<string, number> = {};
    names.forEach((n, i) => { if (n !== 'id') record[n] = cells[i] ?? 0; });
    return { values: names.map((n, i) => (n === 'id' ? NaN : cells[i] ?? 0)).filter((v) => !Number.isNaN(v)), record };
  });
}

function cli(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ code, out })));
}

/** Start a long-running ferry command; resolves with the first log line that `ready` accepts. */
function daemon(args: readonly string[], env: Record<string, string>, ready: (entry: Record<string, unknown>) => boolean): Promise<{ proc: ChildProcess; entry: Record<string, unknown>; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', FERRY_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  let log = '';
  proc.stderr.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      if (ready(entry)) resolve({ proc, entry, exited });
    });
    void exited.then((code) => reject(new Error(`ferry ${args[0]} exited (${code}) before it was ready: ${log}`)));
  });
}

function procStats(pid: number): { rss: number; fds: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS') * 1024, fds: readdirSync(`/proc/${pid}/fd`).length, threads: field('Threads') };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Run the soak; the caller decides what the report must show. */
export async function soak(options: SoakOptions): Promise<SoakReport> {
  const say = options.progress ?? (() => undefined);
  const home = mkdtempSync(join(tmpdir(), 'ferry-soak-'));
  const env = { FERRY_HOME: join(home, 'home') };
  const meta = JSON.parse(readFileSync(join(MODEL, 'meta.json'), 'utf8')) as { input_columns: { input: string[] } };
  const columns = ['--input-columns', `input=${meta.input_columns.input.join(',')}`];
  const stopAll: (() => Promise<unknown>)[] = [];
  const redis = new Redis({ ...(options.redis ?? { host: '127.0.0.1', port: 6379 }), lazyConnect: true });
  const streamBase = `ferry-soak-${process.pid}-${Date.now().toString(36)}`;
  try {
    for (const extra of [['--alias', 'champion'], []]) {
      const r = await cli(['register', join(MODEL, 'model.onnx'), '--name', 'bc', ...columns, ...extra], env);
      if (r.code !== 0) throw new Error(`register failed: ${r.out}`);
    }
    const config = join(home, 'ferry.yaml');
    writeFileSync(config, 'models:\n  - name: bc\n    versions: [champion]\n    route: champion\n');
    const server = await daemon(['serve', '--port', '0', '--grpc-port', '0', '--poll-interval', '200', '--config', config], env, (e) => e.msg === 'ferry serving');
    stopAll.push(async () => { server.proc.kill('SIGTERM'); await server.exited; });
    const url = String(server.entry.http);
    const pid = server.proc.pid ?? 0;
    const redisUrl = (name: string) => `redis://${options.redis?.host ?? '127.0.0.1'}:${options.redis?.port ?? 6379}/${streamBase}-${name}`;
    const consumer = await daemon(['stream', 'run', 'bc@champion', '--from', redisUrl('in'), '--to', redisUrl('out'), '--dead-letter', redisUrl('dead'),
      '--group', `g-${streamBase}`, '--consumer', 'c1', '--metrics-port', '0', '--runtime-workers', '0', '--poll-interval', '100'], env, (e) => e.msg === 'stream consumer ready');
    stopAll.push(async () => { consumer.proc.kill('SIGTERM'); await consumer.exited; });
    await redis.connect();
    say(`serving at ${url} (pid ${pid}); gRPC ${String(server.entry.grpc)}`);

    const rows = readRows();
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, PROTO_OPTIONS)) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
    const client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${String(server.entry.grpc)}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { ModelInfer: (req: object, cb: (err: grpc.ServiceError | null) => void) => void };
    stopAll.push(() => Promise.resolve(client.close()));

    const requests: Record<string, number> = {};
    const failureSamples: string[] = [];
    let failures = 0;
    let wrongRefusals = 0;
    const count = (kind: string) => { requests[kind] = (requests[kind] ?? 0) + 1; };
    const fail = (what: string) => { failures++; if (failureSamples.length < 20) failureSamples.push(what); };
    const http = async (kind: string, path: string, init: RequestInit, expect: 'ok' | 'refused') => {
      count(kind);
      try {
        const res = await fetch(`${url}${path}`, init);
        const text = await res.text();
        if (res.status >= 500) fail(`${kind} ${res.status} ${text.slice(0, 200)}`);
        else if (expect === 'ok' && res.status !== 200) fail(`${kind} ${res.status} ${text.slice(0, 200)}`);
        else if (expect === 'refused' && (res.status < 400 || res.status >= 500)) wrongRefusals++;
      } catch (err) {
        fail(`${kind} ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const kinds: ((i: number) => Promise<void>)[] = [
      (i) => http('oip-json', '/v2/models/bc/infer', json({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], data: rows[i % rows.length]?.values }] }), 'ok'),
      (i) => {
        const data = Buffer.from(new Float32Array(rows[i % rows.length]?.values ?? []).buffer);
        const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], parameters: { binary_data_size: data.length } }] }));
        return http('oip-binary', '/v2/models/bc/infer', { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) }, body: Buffer.concat([head, data]) }, 'ok');
      },
      (i) => http('mlflow', '/invocations', json({ dataframe_records: [rows[i % rows.length]?.record, rows[(i + 1) % rows.length]?.record] }), 'ok'),
      async (i) => {
        count('grpc');
        const err = await new Promise<grpc.ServiceError | null>((resolve) => {
          client.ModelInfer({ model_name: 'bc', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], contents: { fp32_contents: rows[i % rows.length]?.values } }] }, resolve);
        });
        if (err) fail(`grpc ${err.code} ${err.details}`);
      },
      (i) => {
        const bad = [json({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 29], data: [1] }] }), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs": [' }, json({ nope: true })];
        return http('bad', i % 4 === 0 ? '/v2/models/nope/infer' : '/v2/models/bc/infer', bad[i % bad.length] ?? {}, 'refused');
      },
    ];

    const started = performance.now();
    const elapsed = () => performance.now() - started;
    let stop = false;
    const loops = Array.from({ length: options.clients }, async (_, c) => {
      for (let i = c; !stop; i += options.clients) await (kinds[i % kinds.length] as (i: number) => Promise<void>)(i);
    });

    // Stream: a steady trickle of messages, each id once.
    let sent = 0;
    const streamLoop = (async () => {
      while (!stop) {
        const p = redis.pipeline();
        for (let k = 0; k < 20; k++, sent++) p.xadd(`${streamBase}-in`, '*', 'data', JSON.stringify({ id: `s${sent}`, inputs: rows[sent % rows.length]?.record }));
        await p.exec();
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    // Alias moves and batch runs from other processes, on their own clocks.
    let aliasMoves = 0;
    let batchRuns = 0;
    let batchFailures = 0;
    const aliasLoop = (async () => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, options.aliasEveryMs));
        if (stop) break;
        const r = await cli(['alias', 'set', 'bc', 'champion', String(1 + ((aliasMoves + 1) % 2))], env);
        if (r.code === 0) aliasMoves++;
        else fail(`alias move: ${r.out.slice(0, 200)}`);
      }
    })();
    const batchLoop = (async () => {
      while (!stop) {
        const r = await cli(['batch', 'run', 'bc@champion', '--input', join(MODEL, 'input.csv'), '--output', join(home, `batch-${batchRuns}.jsonl`), '--key', 'id'], env);
        batchRuns++;
        if (r.code !== 0) { batchFailures++; fail(`batch: ${r.out.slice(0, 200)}`); }
        await new Promise((r) => setTimeout(r, options.batchEveryMs));
      }
    })();

    // Samples of the server's memory, descriptors and threads: the median of the first ten after
    // warm-up against the median of the last ten (one sample is noisy; a trend is not).
    const samples: { at: number; rss: number; fds: number; threads: number }[] = [];
    while (elapsed() < options.durationMs) {
      await new Promise((r) => setTimeout(r, 500));
      samples.push({ at: elapsed(), ...procStats(pid) });
      if (samples.length % 60 === 0) say(`${Math.round(elapsed() / 1000)} s: ${Object.values(requests).reduce((a, b) => a + b, 0)} requests, ${failures} failures, RSS ${Math.round((samples.at(-1)?.rss ?? 0) / 1048576)} MB`);
    }
    const after = samples.filter((s) => s.at >= options.warmupMs);
    const first = after.slice(0, 10);
    const last = after.slice(-10);
    stop = true;
    await Promise.all([...loops, streamLoop, aliasLoop, batchLoop]);

    // Every stream message answered exactly once (bounded wait for the consumer to catch up).
    const seen = new Map<string, number>();
    let lastId = '-';
    const deadline = performance.now() + 60_000;
    while (seen.size < sent && performance.now() < deadline) {
      const entries = await redis.xrange(`${streamBase}-out`, lastId === '-' ? '-' : `(${lastId}`, '+', 'COUNT', 1000);
      for (const [id, fields] of entries) {
        lastId = id;
        const out = JSON.parse(fields[fields.indexOf('data') + 1] ?? '{}') as { id?: string };
        seen.set(String(out.id), (seen.get(String(out.id)) ?? 0) + 1);
      }
      if (entries.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    const rssStart = median(first.map((s) => s.rss));
    const rssEnd = median(last.map((s) => s.rss));
    return {
      seconds: Math.round(elapsed() / 1000),
      requests,
      failures,
      failureSamples,
      wrongRefusals,
      aliasMoves,
      batchRuns,
      batchFailures,
      stream: { sent, outputs: [...seen.values()].reduce((a, b) => a + b, 0), duplicates: [...seen.values()].filter((n) => n > 1).length, missing: sent - seen.size },
      rssMb: { afterWarmup: Math.round(rssStart / 1048576), end: Math.round(rssEnd / 1048576), growthPct: Math.round(((rssEnd - rssStart) / rssStart) * 1000) / 10 },
      fds: { afterWarmup: median(first.map((s) => s.fds)), end: median(last.map((s) => s.fds)) },
      threads: { afterWarmup: median(first.map((s) => s.threads)), end: median(last.map((s) => s.threads)) },
    };
  } finally {
    for (const stopOne of stopAll.reverse()) await stopOne().catch(() => undefined);
    if (redis.status === 'ready') {
      await redis.del(`${streamBase}-in`, `${streamBase}-out`, `${streamBase}-dead`).catch(() => undefined);
      const keys = await redis.keys(`ferry:stream:*${streamBase}*`).catch(() => [] as string[]);
      if (keys.length > 0) await redis.del(...keys).catch(() => undefined);
    }
    redis.disconnect();
    rmSync(home, { recursive: true, force: true });
  }
}

/** What the run must show; returns the broken promises. */
export function verdict(r: SoakReport, maxRssGrowthPct = 5): string[] {
  const broken: string[] = [];
  if (r.failures > 0) broken.push(`${r.failures} answer(s) outside 2xx/4xx or transport failures: ${r.failureSamples.slice(0, 3).join(' | ')}`);
  if (r.wrongRefusals > 0) broken.push(`${r.wrongRefusals} bad request(s) not refused with a 4xx`);
  if (r.stream.missing > 0 || r.stream.duplicates > 0) broken.push(`stream: ${r.stream.missing} message(s) unanswered, ${r.stream.duplicates} answered twice`);
  if (r.rssMb.growthPct >= maxRssGrowthPct) broken.push(`RSS grew ${r.rssMb.growthPct} % after warm-up (${r.rssMb.afterWarmup} → ${r.rssMb.end} MB)`);
  if (r.fds.end > r.fds.afterWarmup) broken.push(`file descriptors grew: ${r.fds.afterWarmup} → ${r.fds.end}`);
  if (r.threads.end > r.threads.afterWarmup) broken.push(`threads grew: ${r.threads.afterWarmup} → ${r.threads.end}`);
  return broken;
}
