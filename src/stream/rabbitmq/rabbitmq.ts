import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Redis } from 'ioredis';
import { ferry } from '../../core/errors.js';
import type { ConsumerHeartbeat, Delivery, GroupStatus, OutMessage, PublishOutcome, SinkOptions, SourceOptions, StreamBroker, StreamSink, StreamSource, StreamUrl } from '../broker.js';
import { DeliveryQueue } from '../queue.js';
import { connectState, idempotencyKey, readHeartbeats, writeHeartbeat } from '../redis-state.js';

/**
 * RabbitMQ (AMQP 0-9-1): `amqp://[user:pass@]host:port/<queue>`. The queue is the consumer group
 * (its consumers compete for its messages; to fan one stream out to several groups, bind one
 * queue per group to an exchange in RabbitMQ). Ferry declares missing queues as durable quorum
 * queues, whose `x-delivery-count` gives each delivery's attempt number.
 *
 * Exactly once in effect, never lost: RabbitMQ has no duplicate detection, and its transactions
 * are not atomic across queues (a commit is applied queue by queue). Each output key gets an
 * idempotency record in the state Redis once published (as for MQTT), and when the outputs and
 * dead letters go to queues of the same broker a batch is published in one transaction on the
 * consuming channel, recorded, and acknowledged in a second one (`commit`): a consumer killed at
 * any point leaves its messages to come back, and the records keep their outputs from being
 * published twice — except when killed between a commit and the records that follow it, which
 * repeats that batch's outputs (each message carries its key as `message-id`, for a reader to
 * drop them). An output queue on another broker publishes the same way, with confirms.
 * Heartbeats live in the Redis state store, as for MQTT.
 */
export const rabbitmqBroker: StreamBroker = {
  scheme: 'amqp',
  defaultPort: 5672,
  urlForm: 'amqp://host:port/<queue>',
  deadLetterName: (name) => `${name}.dead-letters`,
  async openSource(url, options) {
    const source = new RabbitSource(url, options);
    await source.open();
    return source;
  },
  async openSink(url, options) {
    const conn = await connectRabbit(url);
    try {
      const ch = await conn.createConfirmChannel();
      await ensureQueue(conn, url.name);
      return new RabbitSink(url, conn, ch, options);
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw unavailable(url, err);
    }
  },
  async status(url, group, stateUrl) {
    const conn = await connectRabbit(url);
    let state: Redis | undefined;
    try {
      const lag = await readyCount(conn, url.name);
      state = await connectState(stateUrl);
      return { stream: url.name, group, lag, pending: null, consumers: await readHeartbeats(state, url, group) } satisfies GroupStatus;
    } finally {
      state?.disconnect();
      await conn.close().catch(() => undefined);
    }
  },
};

/** Where a queue lives: a transaction can only span queues of one broker (and virtual host). */
const placeOf = (url: StreamUrl) => `${url.location}${vhostOf(url)}`;

class RabbitSource implements StreamSource {
  readonly #url: StreamUrl;
  readonly #options: SourceOptions;
  readonly #queue: DeliveryQueue<{ msg: ConsumeMessage; channel: Channel }>;
  readonly #inflight = new Map<string, { msg: ConsumeMessage; channel: Channel }>();
  #conn: ChannelModel | undefined;
  /** The consuming channel, in transaction mode: acks, nacks and a batch's publishes commit together. */
  #channel: Channel | undefined;
  /** Operations on the channel, one at a time (a commit covers everything sent since the last one). */
  #chain: Promise<void> = Promise.resolve();
  #state: Redis | undefined;
  #closing = false;
  #handles = 0;

  constructor(url: StreamUrl, options: SourceOptions) {
    this.#url = url;
    this.#options = options;
    this.#queue = new DeliveryQueue(prefetchOf(options));
  }

  readonly place = (): string => placeOf(this.#url);

  /** Connect, declare the queue if missing, and start consuming (again, after a lost connection). */
  async open(): Promise<void> {
    const conn = await connectRabbit(this.#url);
    try {
      await ensureQueue(conn, this.#url.name);
      const channel = await conn.createChannel();
      await txSelect(channel);
      await channel.prefetch(prefetchOf(this.#options));
      conn.on('close', () => {
        if (this.#conn === conn) {
          this.#conn = undefined;
          this.#channel = undefined;
        }
      });
      this.#conn = conn;
      this.#channel = channel;
      await channel.consume(this.#url.name, (msg) => { if (msg) this.#queue.push({ msg, channel }); }, { noAck: false, consumerTag: `${this.#options.consumer}-${process.pid}-${Date.now()}` });
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw unavailable(this.#url, err);
    }
  }

  async fetch(max: number, waitMs: number): Promise<Delivery[]> {
    if (!this.#conn && !this.#closing) await this.open();
    const items = await this.#queue.take(max, waitMs);
    const out: Delivery[] = [];
    for (const item of items) {
      // Deliveries of a channel that has since closed were given back by the broker: skip them.
      if (item.channel !== this.#channel) continue;
      const handle = String(++this.#handles);
      this.#inflight.set(handle, item);
      const count: unknown = item.msg.properties.headers?.['x-delivery-count'];
      const timestamp = item.msg.properties.timestamp as number | undefined;
      out.push({
        handle,
        payload: item.msg.content,
        enqueuedAt: typeof timestamp === 'number' ? timestamp * (timestamp < 1e12 ? 1000 : 1) : undefined,
        attempts: (typeof count === 'number' ? count : item.msg.fields.redelivered ? 1 : 0) + 1,
      });
    }
    return out;
  }

  ack(deliveries: readonly Delivery[]): Promise<void> {
    return this.commit([], deliveries);
  }

  nak(deliveries: readonly Delivery[]): Promise<void> {
    return this.#transaction((channel) => {
      for (const d of deliveries) {
        const item = this.#take(d);
        if (item && item.channel === channel) channel.nack(item.msg, false, true);
      }
    });
  }

  /** True when publishes to `sink` can join this source's transactions (a queue of the same broker). */
  includes(sink: StreamSink): boolean {
    return sink instanceof RabbitSink && sink.place === this.place();
  }

  /**
   * Publish to sinks of this broker, then acknowledge `acked`, in two transactions on the
   * consuming channel, one batch at a time: the outputs not yet published (the sinks'
   * idempotency records, `RabbitSink.unpublished`) are published and committed — commit-ok
   * means every queue has them —, recorded as published, and only then are the deliveries
   * acknowledged. One transaction for both lost whole batches: RabbitMQ applies a commit queue by
   * queue, and a consumer killed while its commit ran could have its acknowledgements applied and
   * its publishes dropped (32 outputs missing in 1 of 40 SIGKILL runs). Now a consumer killed
   * before the acknowledgements leaves its messages to come back, and their records keep them
   * from being published twice; only a kill between a commit and its records repeats outputs
   * (same `message-id`). Rejects when the channel was lost meanwhile.
   */
  commit(publishes: readonly { sink: StreamSink; messages: readonly OutMessage[] }[], acked: readonly Delivery[]): Promise<void> {
    for (const p of publishes) {
      if (!this.includes(p.sink)) throw ferry('FERRY_E_INTERNAL', { detail: 'a RabbitMQ transaction can only publish to queues of its own broker' });
    }
    const items = acked.map((d) => this.#take(d));
    const lost = () => new Error('the channel these messages came from was closed; they will be delivered again');
    const run = this.#chain.then(async () => {
      const channel = this.#channel;
      if (!channel || items.some((i) => !i || i.channel !== channel)) throw lost();
      try {
        const fresh = await Promise.all(publishes.map(async (p) => ({ sink: p.sink as RabbitSink, messages: await (p.sink as RabbitSink).unpublished(p.messages) })));
        if (fresh.some((f) => f.messages.length > 0)) {
          for (const f of fresh) {
            for (const m of f.messages) sendOut(channel, f.sink.queue, m);
          }
          await txCommit(channel);
          await Promise.all(fresh.map((f) => f.sink.recordPublished(f.messages)));
        }
        if (this.#channel !== channel) throw lost();
        for (const i of items) channel.ack(i!.msg);
        await txCommit(channel);
      } catch (err) {
        // On a live channel (the state Redis failed, say) the messages are given back now, or they
        // would stay unacknowledged on this channel until it closes. Anything published but not
        // acknowledged is then published again: repeated, never lost.
        if (this.#channel === channel) {
          await txRollback(channel).catch(() => undefined);
          for (const i of items) channel.nack(i!.msg, false, true);
          await txCommit(channel).catch(() => undefined);
        }
        throw err;
      }
    });
    this.#chain = run.catch(() => undefined);
    return run.catch((err: unknown) => { throw unavailable(this.#url, err); });
  }

  async lag(): Promise<number | null> {
    return this.#conn ? readyCount(this.#conn, this.#url.name) : null;
  }

  async heartbeat(beat: ConsumerHeartbeat, ttlMs: number): Promise<void> {
    this.#state ??= await connectState(this.#options.stateUrl);
    await writeHeartbeat(this.#state, this.#url, beat, ttlMs);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#queue.close();
    await this.#chain.catch(() => undefined);
    // Closing the channel gives every unacknowledged message back to the queue.
    const conn = this.#conn;
    this.#conn = undefined;
    this.#channel = undefined;
    await conn?.close().catch(() => undefined);
    this.#state?.disconnect();
  }

  /** Run `work` on the channel, then commit; one at a time. */
  #transaction(work: (channel: Channel) => void): Promise<void> {
    const run = this.#chain.then(async () => {
      const channel = this.#channel;
      if (!channel) throw unavailable(this.#url, new Error('not connected; the messages will be delivered again'));
      work(channel);
      await txCommit(channel);
    });
    this.#chain = run.catch(() => undefined);
    return run.catch((err: unknown) => { throw unavailable(this.#url, err); });
  }

  #take(d: Delivery): { msg: ConsumeMessage; channel: Channel } | undefined {
    const item = this.#inflight.get(d.handle);
    this.#inflight.delete(d.handle);
    return item;
  }
}

/**
 * Publishing to one queue with publisher confirms, each message's key as its message-id, and an
 * idempotency record per key in the state Redis (RabbitMQ drops no repeats itself): a message
 * already recorded is not published again, as with MQTT.
 */
export class RabbitSink implements StreamSink {
  readonly queue: string;
  readonly place: string;
  readonly #url: StreamUrl;
  readonly #conn: ChannelModel;
  readonly #channel: ConfirmChannel;
  readonly #options: SinkOptions;
  #state: Redis | undefined;

  constructor(url: StreamUrl, conn: ChannelModel, channel: ConfirmChannel, options: SinkOptions) {
    this.#url = url;
    this.queue = url.name;
    this.place = placeOf(url);
    this.#conn = conn;
    this.#channel = channel;
    this.#options = options;
  }

  async publish(messages: readonly OutMessage[]): Promise<PublishOutcome[]> {
    let fresh: readonly OutMessage[];
    try {
      fresh = await this.unpublished(messages);
      for (const m of fresh) sendOut(this.#channel, this.queue, m);
      if (fresh.length > 0) await this.#channel.waitForConfirms();
      await this.recordPublished(fresh);
    } catch (err) {
      throw unavailable(this.#url, err);
    }
    const sent = new Set(fresh);
    return messages.map((m) => (sent.has(m) ? 'published' : 'duplicate'));
  }

  /** The messages whose key has no idempotency record yet (in order). */
  async unpublished(messages: readonly OutMessage[]): Promise<readonly OutMessage[]> {
    if (messages.length === 0) return messages;
    const state = await this.#store();
    const seen = await state.mget(...messages.map((m) => idempotencyKey(this.#url, m.key)));
    return messages.filter((_, i) => seen[i] === null);
  }

  /** Record these messages as published (for `dedupeTtlSeconds`). */
  async recordPublished(messages: readonly OutMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const state = await this.#store();
    await state.pipeline(messages.map((m) => ['set', idempotencyKey(this.#url, m.key), '1', 'EX', String(this.#options.dedupeTtlSeconds)])).exec();
  }

  async #store(): Promise<Redis> {
    this.#state ??= await connectState(this.#options.stateUrl);
    return this.#state;
  }

  async close(): Promise<void> {
    this.#state?.disconnect();
    await this.#conn.close().catch(() => undefined);
  }
}

/** One output onto `queue`: persistent, its key as the message-id (what a reader drops repeats by). */
function sendOut(channel: Channel, queue: string, m: OutMessage): void {
  channel.sendToQueue(queue, Buffer.from(m.payload), { persistent: true, messageId: m.key, contentType: 'application/json' });
}

function prefetchOf(options: SourceOptions): number {
  return Math.max(options.maxBatch * 4, 64);
}

function vhostOf(url: StreamUrl): string {
  try {
    return new URL(url.text).searchParams.get('vhost') ?? '/';
  } catch {
    return '/';
  }
}

async function connectRabbit(url: StreamUrl): Promise<ChannelModel> {
  let user = 'guest';
  let password = 'guest';
  try {
    const u = new URL(url.text);
    if (u.username) user = decodeURIComponent(u.username);
    if (u.password) password = decodeURIComponent(u.password);
  } catch {
    // parseStreamUrl already checked the URL
  }
  try {
    const conn = await connect({ protocol: 'amqp', hostname: url.host, port: url.port, username: user, password, vhost: vhostOf(url), heartbeat: 10 });
    conn.on('error', () => undefined); // reported through the failing operation or 'close'
    return conn;
  } catch (err) {
    throw unavailable(url, err);
  }
}

/** Declare `name` as a durable quorum queue unless a queue of that name exists (of any type). */
async function ensureQueue(conn: ChannelModel, name: string): Promise<void> {
  // A failed check closes its channel: use a throwaway one.
  const probe = await conn.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkQueue(name);
    await probe.close();
    return;
  } catch {
    // not there: declare it below
  }
  const ch = await conn.createChannel();
  try {
    await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** Messages ready in a queue (not delivered); null when there is no such queue. */
async function readyCount(conn: ChannelModel, name: string): Promise<number | null> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  try {
    return (await ch.checkQueue(name)).messageCount;
  } catch {
    return null;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/**
 * AMQP `tx.select` / `tx.commit` / `tx.rollback`. amqplib implements the methods (lib/defs.js) but its channel API
 * has no wrapper for them; `rpc` sends a method and waits for its reply.
 */
interface RpcChannel {
  rpc(method: number, fields: object, expect: number): Promise<unknown>;
}
const TX_SELECT = 0x005a000a;
const TX_SELECT_OK = 0x005a000b;
const TX_COMMIT = 0x005a0014;
const TX_COMMIT_OK = 0x005a0015;
const TX_ROLLBACK = 0x005a001e;
const TX_ROLLBACK_OK = 0x005a001f;

async function txSelect(channel: Channel): Promise<void> {
  await (channel as unknown as RpcChannel).rpc(TX_SELECT, {}, TX_SELECT_OK);
}

async function txCommit(channel: Channel): Promise<void> {
  await (channel as unknown as RpcChannel).rpc(TX_COMMIT, {}, TX_COMMIT_OK);
}

/** Drop what the channel's open transaction holds (publishes and acks not committed). */
async function txRollback(channel: Channel): Promise<void> {
  await (channel as unknown as RpcChannel).rpc(TX_ROLLBACK, {}, TX_ROLLBACK_OK);
}

function unavailable(url: StreamUrl, err: unknown) {
  if (err instanceof Error && err.name === 'FerryError') return err;
  return ferry('FERRY_E_STREAM_UNAVAILABLE', { broker: 'RabbitMQ', location: url.location, detail: err instanceof Error ? err.message : String(err) }, err);
}
