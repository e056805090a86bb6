/**
 * `npm run bench:stream`: messages/s and p99 end-to-end latency of `ferry stream run` with the
 * fixture MLP through Redis Streams and NATS JetStream, with 1 and 2 consumers, beside the
 * pass-through rate of the same harness with scoring replaced by identity (the limit). Inputs are
 * published at most BENCH_WINDOW ahead of the outputs (a bounded backlog); latency is from
 * publish to the output's arrival, on this process's clock. Bounded: BENCH_MESSAGES per run.
 * Prints Markdown and writes it to bench/results/stream.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { connect as connectAmqp, type Channel as AmqpChannel, type ChannelModel } from 'amqplib';
import { connect, type NatsConnection } from 'nats';
import { startChild, stopAll, tempDir, type Child } from './lib/children.js';
import { fixtureRows, MODEL_PATH, ROOT, FIXTURE_DIR } from './lib/fixture.js';
import { percentile } from './lib/stats.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 4000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 1000);
const MAX_BATCH = 64;
const TARGET = 0.7;

const columns = (JSON.parse(readFileSync(join(FIXTURE_DIR, 'meta.json'), 'utf8')) as { input_columns: { input: string[] } }).input_columns.input;
const rows = fixtureRows().map((r) => Object.fromEntries(columns.map((c, j) => [c, r[j]])));

interface Harness {
  url(name: string): string;
  /** Start reading `name`; calls `onOutput(id)` per output message. */
  collect(name: string, onOutput: (id: string) => void): Promise<() => Promise<void>>;
  publish(name: string, payloads: readonly string[]): Promise<void>;
  cleanup(names: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

function redisHarness(): Harness {
  const redis = new Redis({ host: '127.0.0.1', port: 6379 });
  return {
    url: (name) => `redis://127.0.0.1:6379/${name}`,
    collect(name, onOutput) {
      const reader = new Redis({ host: '127.0.0.1', port: 6379 });
      let stop = false;
      let last = '0';
      const loop = (async () => {
        while (!stop) {
          const reply = await reader.xread('COUNT', 1000, 'BLOCK', 200, 'STREAMS', name, last);
          for (const [, entries] of reply ?? []) {
            for (const [id, fields] of entries) {
              last = id;
              onOutput((JSON.parse(fields[1] ?? '{}') as { id: string }).id);
            }
          }
        }
      })();
      return Promise.resolve(async () => { stop = true; await loop; reader.disconnect(); });
    },
    async publish(name, payloads) {
      const p = redis.pipeline();
      for (const data of payloads) p.xadd(name, '*', 'data', data);
      await p.exec();
    },
    async cleanup(names) {
      for (const n of names) await redis.del(n);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', 'ferry:stream:*:bench-*', 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    },
    close: () => { redis.disconnect(); return Promise.resolve(); },
  };
}

function natsHarness(): Harness {
  let nc: NatsConnection | undefined;
  const conn = async () => (nc ??= await connect({ servers: '127.0.0.1:4222' }));
  const streamOf = (name: string) => `FERRY_${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return {
    url: (name) => `nats://127.0.0.1:4222/${name}`,
    async collect(name, onOutput) {
      const c = await conn();
      const sub = c.subscribe(name);
      const loop = (async () => { for await (const m of sub) onOutput((m.json<{ id: string }>()).id); })();
      return async () => { sub.unsubscribe(); await loop; };
    },
    async publish(name, payloads) {
      const c = await conn();
      const jsm = await c.jetstreamManager();
      try { await jsm.streams.find(name); } catch { await jsm.streams.add({ name: streamOf(name), subjects: [name] }); }
      const js = c.jetstream();
      await Promise.all(payloads.map((p) => js.publish(name, p)));
    },
    async cleanup(names) {
      const jsm = await (await conn()).jetstreamManager();
      for (const n of names) { try { await jsm.streams.delete(await jsm.streams.find(n)); } catch { /* none */ } }
    },
    close: async () => { await nc?.close(); },
  };
}

function rabbitmqHarness(): Harness {
  let conn: ChannelModel | undefined;
  let ch: AmqpChannel | undefined;
  const channel = async () => {
    conn ??= await connectAmqp('amqp://guest:guest@127.0.0.1:5672');
    ch ??= await conn.createChannel();
    return ch;
  };
  const declare = async (name: string) => (await channel()).assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  return {
    url: (name) => `amqp://127.0.0.1:5672/${name}`,
    async collect(name, onOutput) {
      await declare(name);
      const c = await conn!.createChannel();
      const { consumerTag } = await c.consume(name, (m) => { if (m) onOutput((JSON.parse(m.content.toString('utf8')) as { id: string }).id); }, { noAck: true });
      return async () => { await c.cancel(consumerTag); await c.close(); };
    },
    async publish(name, payloads) {
      await declare(name);
      const c = await channel();
      for (const p of payloads) c.sendToQueue(name, Buffer.from(p), { persistent: true });
    },
    async cleanup(names) {
      const c = await channel();
      for (const n of names) await c.deleteQueue(n).catch(() => undefined);
    },
    close: async () => { await conn?.close(); },
  };
}

interface RunResult { rate: number; p50: number; p99: number }

async function run(h: Harness, mode: 'scoring' | 'identity', consumers: number, home: string): Promise<RunResult> {
  const base = `bench-${mode}-${consumers}-${Math.random().toString(36).slice(2, 8)}`;
  const input = `${base}-in`;
  const output = `${base}-out`;
  const group = `g-${base}`;
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  let lastAt = 0;
  let wake: (() => void) | undefined;
  const stopCollect = await h.collect(output, (id) => {
    const t = sent.get(id);
    if (t === undefined) return;
    sent.delete(id);
    lastAt = performance.now();
    latencies.push(lastAt - t);
    received++;
    wake?.();
  });
  // The input must exist before the consumers join (NATS stream; Redis group on an empty stream).
  await h.publish(input, []);
  const children: Child[] = [];
  try {
    for (let i = 0; i < consumers; i++) {
      const args = mode === 'scoring'
        ? [join(ROOT, 'bin/ferry.js'), 'stream', 'run', 'bmlp', '--from', h.url(input), '--to', h.url(output), '--group', group, '--consumer', `c${i}`, '--max-batch', String(MAX_BATCH), '--runtime-workers', '0']
        : ['--import', 'tsx', join(ROOT, 'bench/lib/stream-identity.ts'), h.url(input), h.url(output), group, `c${i}`, String(MAX_BATCH)];
      const { child } = await startChild(`${mode} consumer`, { args, cwd: ROOT, env: { PATH: process.env.PATH ?? '', FERRY_HOME: home, FERRY_LOG_LEVEL: 'info' }, ready: (l) => (l.includes('stream consumer ready') ? true : undefined) });
      children.push(child);
    }
    const started = performance.now();
    for (let i = 0; i < MESSAGES; i += 100) {
      while (i - received > WINDOW) await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
      const chunk: string[] = [];
      const now = performance.now();
      for (let j = i; j < Math.min(MESSAGES, i + 100); j++) {
        const id = `m${j}`;
        sent.set(id, now);
        chunk.push(JSON.stringify({ id, inputs: rows[j % rows.length] }));
      }
      await h.publish(input, chunk);
    }
    const deadline = performance.now() + 120_000;
    while (received < MESSAGES && performance.now() < deadline) await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
    if (received < MESSAGES) throw new Error(`${mode}: only ${received} of ${MESSAGES} outputs arrived`);
    const sorted = latencies.sort((a, b) => a - b);
    return { rate: MESSAGES / ((lastAt - started) / 1000), p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await stopCollect();
    await h.cleanup([input, output, `${input}.dead-letters`]);
  }
}

async function main(): Promise<void> {
  const home = tempDir('ferry-bench-stream-');
  const reg = spawnSync(process.execPath, [join(ROOT, 'bin/ferry.js'), 'register', MODEL_PATH, '--name', 'bmlp', '--input-columns', `input=${columns.join(',')}`], { env: { PATH: process.env.PATH ?? '', FERRY_HOME: home.dir }, encoding: 'utf8' });
  if (reg.status !== 0) throw new Error(`register failed: ${reg.stderr}`);
  const lines: string[] = [];
  const table: string[] = [
    '| broker | consumers | scored msg/s | pass-through msg/s | scored / pass-through | p50 / p99 scored (ms) | p50 / p99 pass-through (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  const verdicts: string[] = [];
  // BENCH_BROKERS=redis,nats,rabbitmq (default: all) runs a subset.
  const only = (process.env.BENCH_BROKERS ?? 'redis,nats,rabbitmq').split(',').map((b) => b.trim());
  const harnesses = ([['redis', 'Redis Streams', redisHarness], ['nats', 'NATS JetStream', natsHarness], ['rabbitmq', 'RabbitMQ (quorum queues, transactions)', rabbitmqHarness]] as const).filter(([key]) => only.includes(key));
  for (const [, name, make] of harnesses) {
    const h = make();
    try {
      for (const consumers of [1, 2]) {
        const pass = await run(h, 'identity', consumers, home.dir);
        const scored = await run(h, 'scoring', consumers, home.dir);
        const ratio = scored.rate / pass.rate;
        table.push(`| ${name} | ${consumers} | ${scored.rate.toFixed(0)} | ${pass.rate.toFixed(0)} | ${ratio.toFixed(2)}× | ${scored.p50.toFixed(1)} / ${scored.p99.toFixed(1)} | ${pass.p50.toFixed(1)} / ${pass.p99.toFixed(1)} |`);
        verdicts.push(`- ${name}, ${consumers} consumer(s): ${ratio >= TARGET ? 'meets' : 'misses'} the target of ≥ ${TARGET}× pass-through (${ratio.toFixed(2)}×).`);
        console.error(table[table.length - 1]);
      }
    } finally {
      await h.close();
    }
  }
  lines.push('# bench:stream', '', `${MESSAGES} messages per run (breast_mlp, one row each), at most ${WINDOW} in flight, --max-batch ${MAX_BATCH}; ${cpus().length} CPU(s) shared by the brokers, the consumers and this harness. Latency: publish → output received.`, '', ...table, '', ...verdicts, '');
  const text = lines.join('\n');
  console.log(text);
  // A subset (BENCH_BROKERS) is printed only; bench/results/stream.md holds full runs.
  if (harnesses.length === 3) {
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench/results/stream.md'), text);
  }
  await stopAll();
  home.remove();
}

await main();
