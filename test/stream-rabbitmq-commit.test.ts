/**
 * The RabbitMQ adapter's batch commit against the real broker (127.0.0.1:5672) and Redis: a
 * commit that fails on a live channel (here: the state Redis that keeps the idempotency records
 * is not there) gives its messages back at once instead of leaving them unacknowledged until the
 * channel closes; a committed output is recorded, so the same key redelivered is acknowledged
 * without being published twice; a RabbitMQ output fed from another broker publishes a key once.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import type { SinkOptions, SourceOptions, StreamSink, StreamSource } from '../src/stream/broker.js';
import { parseStreamUrl } from '../src/stream/brokers.js';
import { rabbitmqBroker as adapter } from '../src/stream/rabbitmq/rabbitmq.js';
import { rabbitmqBroker, REDIS, uniqueName } from './helpers/brokers.js';

const broker = rabbitmqBroker();
const names = { input: uniqueName('ferry-commit-in'), output: uniqueName('ferry-commit-out'), cross: uniqueName('ferry-commit-cross') };
const opened: (StreamSource | StreamSink)[] = [];
const stateUrl = `redis://${REDIS.host}:${REDIS.port}`;
const source: SourceOptions = { group: 'g', consumer: 'c', reclaimIdleMs: 30_000, maxBatch: 8, maxDeliver: 5, stateUrl };
const sinkOptions = (state: string): SinkOptions => ({ consumer: 'c', group: 'g', dedupeTtlSeconds: 60, stateUrl: state });

after(async () => {
  for (const x of opened) await x.close();
  await broker.cleanup([names.input, names.output, names.cross], [{ group: 'g', consumers: ['c'] }]);
});

test('a commit that fails on a live channel gives its messages back; a recorded output is not published twice', async () => {
  const out = await broker.collect(names.output);
  const src = await adapter.openSource(parseStreamUrl(broker.url(names.input)), source);
  // Nothing listens on port 1: the records cannot be read, so nothing may be published or acknowledged.
  const noState = await adapter.openSink(parseStreamUrl(broker.url(names.output)), sinkOptions('redis://127.0.0.1:1'));
  const sink = await adapter.openSink(parseStreamUrl(broker.url(names.output)), sinkOptions(stateUrl));
  opened.push(src, noState, sink);
  await broker.publish(names.input, ['{"id":"a"}']);

  const [first] = await src.fetch(1, 5_000);
  assert.ok(first, 'the message is delivered');
  assert.equal(first.attempts, 1);
  await assert.rejects(src.commit!([{ sink: noState, messages: [{ key: 'a', payload: '{"id":"a","n":1}' }] }], [first]), (e: unknown) => isFerryError(e, 'FERRY_E_STREAM_UNAVAILABLE'));
  // Given back on the same, still open channel: delivered again at once, not after a reconnect.
  const [again] = await src.fetch(1, 5_000);
  assert.ok(again, 'the message comes back after the failed commit');
  assert.equal(again.payload.toString(), '{"id":"a"}');
  assert.equal(again.attempts, 2);

  await src.commit!([{ sink, messages: [{ key: 'a', payload: '{"id":"a","n":2}' }] }], [again]);
  await out.until((m) => m.length >= 1, 'the output');
  assert.equal(await src.lag(), 0, 'the input was acknowledged');

  // The same key delivered again (a consumer killed after the records, before its acks): acknowledged, not published again.
  await broker.publish(names.input, ['{"id":"a"}']);
  const [repeat] = await src.fetch(1, 5_000);
  assert.ok(repeat);
  await src.commit!([{ sink, messages: [{ key: 'a', payload: '{"id":"a","n":3}' }] }], [repeat]);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(out.messages, [{ id: 'a', n: 2 }], 'one output for the key');
  assert.equal(await src.lag(), 0);
  await out.close();
});

test('a RabbitMQ output fed from another broker publishes a key once (its idempotency record), with confirms', async () => {
  const name = names.cross;
  const out = await broker.collect(name);
  const sink = await adapter.openSink(parseStreamUrl(broker.url(name)), sinkOptions(stateUrl));
  opened.push(sink);
  assert.deepEqual(await sink.publish([{ key: 'x', payload: '{"id":"x"}' }, { key: 'y', payload: '{"id":"y"}' }]), ['published', 'published']);
  // Redelivered upstream after the publish: the record turns it into a no-op.
  assert.deepEqual(await sink.publish([{ key: 'x', payload: '{"id":"x"}' }, { key: 'z', payload: '{"id":"z"}' }]), ['duplicate', 'published']);
  await out.until((m) => m.length >= 3, 'the outputs');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(out.messages.map((m) => m.id), ['x', 'y', 'z']);
  await out.close();
});
