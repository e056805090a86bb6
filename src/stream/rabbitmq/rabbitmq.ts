import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Redis } from 'ioredis';
import { ferry } from '../../core/errors.js';
import type { ConsumerHeartbeat, Delivery, GroupStatus, OutMessage, PublishOutcome, SourceOptions, StreamBroker, StreamSink, StreamSource, StreamUrl } from '../broker.js';
import { DeliveryQueue } from '../queue.js';
import { connectState, readHeartbeats, writeHeartbeat } from '../redis-state.js';

/**
 * RabbitMQ (AMQP 0-9-1): `amqp://[user:pass@]host:port/<queue>`. The queue is the consumer group
 * (its consumers compete for its messages; to fan one stream out to several groups, bind one
 * queue per group to an exchange in RabbitMQ). Ferry declares missing queues as durable quorum
 * queues, whose `x-delivery-count` gives each delivery's attempt number.
 *
 * Exactly once in effect: RabbitMQ has no duplicate detection, so when the outputs and dead
 * letters go to queues of the same broker, a batch's publishes and its acknowledgements are one
 * AMQP transaction on the consuming channel (`commit`): a consumer killed before the commit
 * leaves nothing published and its messages are redelivered; after it, both happened. An output
 * queue on another broker, or a RabbitMQ sink fed from another broker, is at least once (each
 * message carries its key as `message-id` for a downstream to drop repeats).
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
  async openSink(url) {
    const conn = await connectRabbit(url);
    try {
      const ch = await conn.createConfirmChannel();
      await ensureQueue(conn, url.name);
      return new RabbitSink(url, conn, ch);
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
   * Publish to sinks of this broker and acknowledge `acked`, in one transaction: all or nothing.
   * Rejects (nothing published, nothing acknowledged) when the channel was lost meanwhile.
   */
  commit(publishes: readonly { sink: StreamSink; messages: readonly OutMessage[] }[], acked: readonly Delivery[]): Promise<void> {
    for (const p of publishes) {
      if (!this.includes(p.sink)) throw ferry('FERRY_E_INTERNAL', { detail: 'a RabbitMQ transaction can only publish to queues of its own broker' });
    }
    return this.#transaction((channel) => {
      const items = acked.map((d) => this.#take(d));
      if (items.some((i) => !i || i.channel !== channel)) throw unavailable(this.#url, new Error('the channel these messages came from was closed; they will be delivered again'));
      for (const p of publishes) {
        const queue = (p.sink as RabbitSink).queue;
        for (const m of p.messages) channel.sendToQueue(queue, Buffer.from(m.payload), { persistent: true, messageId: m.key, contentType: 'application/json' });
      }
      for (const i of items) channel.ack(i!.msg);
    });
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

/** Publishing to one queue with publisher confirms (each message's key as its message-id). */
export class RabbitSink implements StreamSink {
  readonly queue: string;
  readonly place: string;
  readonly #url: StreamUrl;
  readonly #conn: ChannelModel;
  readonly #channel: ConfirmChannel;

  constructor(url: StreamUrl, conn: ChannelModel, channel: ConfirmChannel) {
    this.#url = url;
    this.queue = url.name;
    this.place = placeOf(url);
    this.#conn = conn;
    this.#channel = channel;
  }

  async publish(messages: readonly OutMessage[]): Promise<PublishOutcome[]> {
    try {
      for (const m of messages) this.#channel.sendToQueue(this.queue, Buffer.from(m.payload), { persistent: true, messageId: m.key, contentType: 'application/json' });
      await this.#channel.waitForConfirms();
    } catch (err) {
      throw unavailable(this.#url, err);
    }
    return messages.map(() => 'published');
  }

  async close(): Promise<void> {
    await this.#conn.close().catch(() => undefined);
  }
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
 * AMQP `tx.select` / `tx.commit`. amqplib implements the methods (lib/defs.js) but its channel API
 * has no wrapper for them; `rpc` sends a method and waits for its reply.
 */
interface RpcChannel {
  rpc(method: number, fields: object, expect: number): Promise<unknown>;
}
const TX_SELECT = 0x005a000a;
const TX_SELECT_OK = 0x005a000b;
const TX_COMMIT = 0x005a0014;
const TX_COMMIT_OK = 0x005a0015;

async function txSelect(channel: Channel): Promise<void> {
  await (channel as unknown as RpcChannel).rpc(TX_SELECT, {}, TX_SELECT_OK);
}

async function txCommit(channel: Channel): Promise<void> {
  await (channel as unknown as RpcChannel).rpc(TX_COMMIT, {}, TX_COMMIT_OK);
}

function unavailable(url: StreamUrl, err: unknown) {
  if (err instanceof Error && err.name === 'FerryError') return err;
  return ferry('FERRY_E_STREAM_UNAVAILABLE', { broker: 'RabbitMQ', location: url.location, detail: err instanceof Error ? err.message : String(err) }, err);
}
