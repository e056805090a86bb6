import { AckPolicy, connect, DeliverPolicy, nanos, StorageType, type ConsumerMessages, type JetStreamManager, type JsMsg, type KV, type NatsConnection } from 'nats';
import { ferry } from '../../core/errors.js';
import { safeName, type ConsumerHeartbeat, type Delivery, type GroupStatus, type OutMessage, type PublishOutcome, type SourceOptions, type StreamBroker, type StreamSink, type StreamSource, type StreamUrl } from '../broker.js';
import { DeliveryQueue } from '../queue.js';

/**
 * NATS JetStream: a durable pull consumer per group (explicit ack, ack wait, max deliver),
 * read through `consume()` into a bounded local buffer. Unacknowledged messages are
 * redelivered after the ack wait to any member of the group, which is how a dead
 * consumer's messages are taken over. Publishing sets `Nats-Msg-Id` to the output key so
 * the stream's duplicate window drops a second copy. Heartbeats live in a KV bucket.
 */
export const natsBroker: StreamBroker = {
  scheme: 'nats',
  defaultPort: 4222,
  urlForm: 'nats://host:port/<subject>',
  // A subject with `*`, `>` or spaces would subscribe to many, or none.
  refuseName: (name) => (/[*>\s]/.test(name) ? 'wildcards are not allowed: name one stream, subject or topic' : undefined),
  deadLetterName: (name) => `${name}.dead-letters`,
  async openSource(url, options) {
    const nc = await connectNats(url);
    try {
      const jsm = await nc.jetstreamManager();
      const stream = await ensureStream(jsm, url.name, undefined);
      const durable = safeName(options.group);
      try {
        await jsm.consumers.info(stream, durable);
      } catch {
        await jsm.consumers.add(stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: url.name,
          ack_wait: nanos(options.reclaimIdleMs),
          max_deliver: options.maxDeliver + 1,
          max_ack_pending: -1,
        });
      }
      const consumer = await nc.jetstream().consumers.get(stream, durable);
      const messages = await consumer.consume({ max_messages: Math.max(options.maxBatch * 2, 64) });
      return new NatsSource(url, nc, stream, durable, messages, options);
    } catch (err) {
      await nc.close();
      throw unavailable(url, err);
    }
  },
  async openSink(url, options) {
    const nc = await connectNats(url);
    try {
      await ensureStream(await nc.jetstreamManager(), url.name, options.dedupeTtlSeconds * 1000);
    } catch (err) {
      await nc.close();
      throw unavailable(url, err);
    }
    return new NatsSink(url, nc);
  },
  async status(url, group) {
    const nc = await connectNats(url);
    try {
      const jsm = await nc.jetstreamManager();
      let lag: number | null = null;
      let pending: number | null = null;
      try {
        const info = await jsm.consumers.info(await jsm.streams.find(url.name), safeName(group));
        lag = info.num_pending;
        pending = info.num_ack_pending;
      } catch {
        // no such stream or group yet
      }
      const consumers = await readBeats(await heartbeatBucket(nc), url, group);
      return { stream: url.name, group, lag, pending, consumers } satisfies GroupStatus;
    } finally {
      await nc.close();
    }
  },
};

class NatsSource implements StreamSource {
  readonly #url: StreamUrl;
  readonly #nc: NatsConnection;
  readonly #stream: string;
  readonly #durable: string;
  readonly #messages: ConsumerMessages;
  readonly #queue: DeliveryQueue<JsMsg>;
  readonly #inflight = new Map<string, JsMsg>();
  readonly #pump: Promise<void>;
  #kv: KV | undefined;

  constructor(url: StreamUrl, nc: NatsConnection, stream: string, durable: string, messages: ConsumerMessages, options: SourceOptions) {
    this.#url = url;
    this.#nc = nc;
    this.#stream = stream;
    this.#durable = durable;
    this.#messages = messages;
    const queue = new DeliveryQueue<JsMsg>(Math.max(options.maxBatch * 4, 64));
    this.#queue = queue;
    this.#pump = (async () => {
      for await (const m of messages) {
        queue.push(m);
        await queue.room();
      }
    })().catch(() => undefined);
  }

  async fetch(max: number, waitMs: number): Promise<Delivery[]> {
    const msgs = await this.#queue.take(max, waitMs);
    return msgs.map((m) => {
      const handle = String(m.seq);
      this.#inflight.set(handle, m);
      return { handle, payload: m.data, enqueuedAt: m.info.timestampNanos / 1e6, attempts: m.info.redeliveryCount };
    });
  }

  ack(deliveries: readonly Delivery[]): Promise<void> {
    for (const d of deliveries) this.#take(d)?.ack();
    return Promise.resolve();
  }

  nak(deliveries: readonly Delivery[]): Promise<void> {
    for (const d of deliveries) this.#take(d)?.nak(500);
    return Promise.resolve();
  }

  async lag(): Promise<number | null> {
    const info = await (await this.#nc.jetstreamManager()).consumers.info(this.#stream, this.#durable);
    return info.num_pending;
  }

  async heartbeat(beat: ConsumerHeartbeat, ttlMs: number): Promise<void> {
    this.#kv ??= await heartbeatBucket(this.#nc);
    await this.#kv.put(beatKey(this.#url, beat.group, beat.consumer), JSON.stringify({ beat, expiresAt: Date.now() + ttlMs }));
  }

  async close(): Promise<void> {
    // Buffered but never handed out: give them back now rather than after the ack wait.
    for (const m of this.#queue.close()) m.nak();
    await this.#messages.close().catch(() => undefined);
    await this.#pump;
    if (this.#kv) await this.#nc.flush().catch(() => undefined);
    await this.#nc.drain().catch(() => undefined);
  }

  #take(d: Delivery): JsMsg | undefined {
    const m = this.#inflight.get(d.handle);
    this.#inflight.delete(d.handle);
    return m;
  }
}

class NatsSink implements StreamSink {
  readonly #url: StreamUrl;
  readonly #nc: NatsConnection;

  constructor(url: StreamUrl, nc: NatsConnection) {
    this.#url = url;
    this.#nc = nc;
  }

  async publish(messages: readonly OutMessage[]): Promise<PublishOutcome[]> {
    const js = this.#nc.jetstream();
    const acks = await Promise.all(messages.map((m) => js.publish(this.#url.name, m.payload, { msgID: m.key })));
    return acks.map((a) => (a.duplicate ? 'duplicate' : 'published'));
  }

  async close(): Promise<void> {
    await this.#nc.drain().catch(() => undefined);
  }
}

async function connectNats(url: StreamUrl): Promise<NatsConnection> {
  try {
    return await connect({ servers: `${url.host}:${url.port}`, maxReconnectAttempts: 30, reconnectTimeWait: 500 });
  } catch (err) {
    throw unavailable(url, err);
  }
}

/** The stream that holds `subject`, created when none does (file storage, the given duplicate window). */
async function ensureStream(jsm: JetStreamManager, subject: string, duplicateWindowMs: number | undefined): Promise<string> {
  try {
    return await jsm.streams.find(subject);
  } catch {
    const name = `FERRY_${safeName(subject)}`;
    await jsm.streams.add({ name, subjects: [subject], storage: StorageType.File, ...(duplicateWindowMs ? { duplicate_window: nanos(duplicateWindowMs) } : {}) });
    return name;
  }
}

function heartbeatBucket(nc: NatsConnection): Promise<KV> {
  return nc.jetstream().views.kv('ferry_stream_heartbeats', { history: 1 });
}

const beatPrefix = (url: StreamUrl, group: string) => `${safeName(url.name)}.${safeName(group)}`;
const beatKey = (url: StreamUrl, group: string, consumer: string) => `${beatPrefix(url, group)}.${safeName(consumer)}`;

async function readBeats(kv: KV, url: StreamUrl, group: string): Promise<ConsumerHeartbeat[]> {
  const out: ConsumerHeartbeat[] = [];
  const keys: string[] = [];
  for await (const k of await kv.keys(`${beatPrefix(url, group)}.*`)) keys.push(k);
  for (const k of keys) {
    const entry = await kv.get(k);
    if (!entry || entry.length === 0) continue;
    const { beat, expiresAt } = entry.json<{ beat: ConsumerHeartbeat; expiresAt: number }>();
    if (expiresAt > Date.now()) out.push(beat);
  }
  return out.sort((a, b) => a.consumer.localeCompare(b.consumer));
}

function unavailable(url: StreamUrl, err: unknown) {
  if (err instanceof Error && err.name === 'FerryError') return err;
  return ferry('FERRY_E_STREAM_UNAVAILABLE', { broker: 'NATS JetStream', location: url.location, detail: err instanceof Error ? err.message : String(err) }, err);
}
