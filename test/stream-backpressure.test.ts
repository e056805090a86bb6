/**
 * Bounded in-flight work and graceful shutdown of `ferry stream run` (Redis Streams): with a
 * backlog far larger than a batch, the group's pending list never holds more than
 * max-inflight × max-batch messages; SIGTERM mid-stream finishes the batches in flight and
 * acknowledges exactly the messages whose outputs were published.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { runCli } from './helpers/cli.js';
import { redisBroker, REDIS, startConsumer, uniqueName } from './helpers/brokers.js';
import { tempDir } from './helpers/env.js';
import { fixture, inputColumnFlags, records } from './helpers/fixtures.js';

const f = fixture('breast_mlp');
const rows = records(f);
const home = tempDir('ferry-stream-bp-');
const env = { FERRY_HOME: home.dir };
const broker = redisBroker();
const redis = new Redis(REDIS);
const base = uniqueName('ferry-bp');
const names = { input: `${base}-in`, output: `${base}-out`, dead: `${base}-dead`, group: `g-${base}` };

after(async () => {
  await broker.cleanup([names.input, names.output, names.dead], [{ group: names.group, consumers: ['c1'] }]);
  redis.disconnect();
  home.cleanup();
});

async function group(): Promise<{ pending: number; entriesRead: number }> {
  const groups = await redis.call('XINFO', 'GROUPS', names.input) as unknown[][];
  const g = groups.map((x) => new Map(Array.from({ length: x.length / 2 }, (_, i) => [String(x[2 * i]), x[2 * i + 1]]))).find((m) => m.get('name') === names.group);
  return { pending: Number(g?.get('pending')), entriesRead: Number(g?.get('entries-read')) };
}

test('in-flight work is bounded, and SIGTERM acknowledges exactly what was published', async () => {
  const reg = await runCli(['register', f.model, '--name', 'bmlp', ...inputColumnFlags(f, true)], env);
  assert.equal(reg.code, 0, reg.stderr);
  const total = 3000;
  await broker.publish(names.input, Array.from({ length: total }, (_, i) => JSON.stringify({ id: `b-${i}`, inputs: rows[i % rows.length] })));
  const out = await broker.collect(names.output);
  const maxBatch = 8;
  const maxInflight = 2;
  const c = await startConsumer(['bmlp', '--from', broker.url(names.input), '--to', broker.url(names.output), '--dead-letter', broker.url(names.dead),
    '--group', names.group, '--consumer', 'c1', '--max-batch', String(maxBatch), '--max-inflight', String(maxInflight), '--runtime-workers', '0'], env);
  let most = 0;
  await out.until((m) => m.length >= 600, '600 outputs');
  for (let i = 0; i < 20; i++) most = Math.max(most, (await group()).pending);
  c.child.kill('SIGTERM');
  assert.equal(await c.exited, 0);
  await out.until(() => true, 'the last outputs');
  const after = await group();
  assert.ok(most <= maxInflight * maxBatch, `pending reached ${most}, above ${maxInflight} × ${maxBatch}`);
  assert.equal(after.pending, 0, 'every fetched message was finished and acknowledged');
  assert.ok(after.entriesRead < total, 'stopped mid-stream');
  assert.equal(out.messages.length, after.entriesRead, 'one output per acknowledged message');
  assert.equal(new Set(out.messages.map((m) => m.id)).size, out.messages.length);
});
