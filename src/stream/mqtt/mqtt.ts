import type { Redis } from 'ioredis';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ferry } from '../../core/errors.js';
import { randomUUID } from 'node:crypto';
import { brokerUrl, safeName, type ConsumerHeartbeat, type Delivery, type OutMessage, type PublishOutcome, type SourceOptions, type StreamBroker, type StreamSink, type StreamSource, type StreamUrl } from '../broker.js';
import { KEY_PROPERTY, RedisOutgoingStore, type StoredPacket } from './mqtt-store.js';
import { DeliveryQueue } from '../queue.js';
import { connectState, heartbeatKey, idempotencyKey, readHeartbeats, writeHeartbeat } from '../redis-state.js';

/**
 * MQTT (Mosquitto 2, MQTT 5): a shared subscription `$share/<group>/<topic>` at QoS 1 in a
 * persistent session (clean: false, session expiry), so messages not yet acknowledged are
 * delivered again when the consumer reconnects under the same name. PUBACK is held back
 * until the message is done. Outputs go out at QoS 2 through a Redis-backed outgoing store
 * that also holds the idempotency records (mqtt-store.ts). The broker keeps no group
 * state MQTT exposes, so lag is unknown and heartbeats live in the Redis state store.
 *
 * Takeover: a dead member's unacknowledged messages sit in its session. Every member records
 * itself in a Redis set of the group; when a member's heartbeat has expired, one survivor
 * (a `SET NX PX` lock per dead member) resends the dead member's stored outputs from their
 * sessions, then resumes its input session under its client id, drains it through the
 * ordinary runner path, and ends both sessions (session expiry 0).
 */
export const mqttBroker: StreamBroker = {
  scheme: 'mqtt',
  defaultPort: 1883,
  urlForm: 'mqtt://host:port/<topic>',
  // Topic levels are separated by `/`.
  deadLetterName: (name) => `${name}/dead-letters`,
  async openSource(url, options) {
    const state = await connectState(options.stateUrl);
    const queue = new DeliveryQueue<Received>(Number.MAX_SAFE_INTEGER);
    const clientId = `ferry-${safeName(options.group)}-${safeName(options.consumer)}`;
    let client: MqttClient;
    try {
      // Listen before connecting: a resumed session's unacknowledged messages arrive right after CONNACK.
      client = await connectMqtt(url, clientId, { receiveMaximum: Math.max(options.maxBatch * 2, 20) }, (c) => {
        holdPubacks(c);
        c.on('message', (_topic, payload, packet) => {
          const enqueued = Number(packet.properties?.userProperties?.['ferry-enqueued-at']);
          queue.push({ client: c, messageId: packet.messageId ?? 0, payload, enqueuedAt: Number.isFinite(enqueued) ? enqueued : Date.now(), attempts: packet.dup ? 2 : 1 });
        });
      });
      await client.subscribeAsync(`$share/${options.group}/${url.name}`, { qos: 1 });
    } catch (err) {
      state.disconnect();
      throw unavailable(url, err);
    }
    return new MqttSource(url, client, state, queue, options);
  },
  async openSink(url, options) {
    const state = await connectState(options.stateUrl);
    // One session per destination: outputs and dead letters must not share a client id.
    const clientId = `ferry-${safeName(options.group)}-${safeName(options.consumer)}-out-${safeName(url.name)}`;
    const store = new RedisOutgoingStore(state, outgoingHash(clientId), (key) => idempotencyKey(url, key), options.dedupeTtlSeconds);
    try {
      // Recorded so that a survivor can resend this session's stored outputs if we die.
      await state.hset(sinksKey(options.group, options.consumer), clientId, JSON.stringify({ url: url.text, dedupeTtlSeconds: options.dedupeTtlSeconds } satisfies SinkRecord));
      const client = await connectMqtt(url, clientId, { outgoingStore: store as unknown as IClientOptions['outgoingStore'] });
      return new MqttSink(url, client, state, store);
    } catch (err) {
      state.disconnect();
      throw unavailable(url, err);
    }
  },
  async status(url, group, stateUrl) {
    const state = await connectState(stateUrl);
    try {
      return { stream: url.name, group, lag: null, pending: null, consumers: await readHeartbeats(state, url, group) };
    } finally {
      state.disconnect();
    }
  },
};

interface Received {
  /** The session it came in on: our own, or a dead member's being drained. */
  readonly client: MqttClient;
  readonly messageId: number;
  readonly payload: Uint8Array;
  readonly enqueuedAt: number;
  attempts: number;
  /** Called once the message is acknowledged (takeover counts what is still outstanding). */
  readonly done?: () => void;
}

/** How a sink's session is found again by a survivor. */
interface SinkRecord {
  readonly url: string;
  readonly dedupeTtlSeconds: number;
}

const outgoingHash = (clientId: string) => `ferry:stream:mqtt-out:${clientId}`;
const inputClientId = (group: string, consumer: string) => `ferry-${safeName(group)}-${safeName(consumer)}`;
/** Members of a group that have ever beaten (dead ones stay until taken over). */
const membersKey = (url: StreamUrl, group: string) => `ferry:stream:mqtt-members:${url.name}:${group}`;
/** A member's output sessions: client id → SinkRecord. */
const sinksKey = (group: string, consumer: string) => `ferry:stream:mqtt-sinks:${safeName(group)}:${safeName(consumer)}`;
const lockKey = (url: StreamUrl, group: string, consumer: string) => `ferry:stream:mqtt-takeover:${url.name}:${group}:${consumer}`;

/** A takeover holds its lock this long and refreshes it while it drains. */
const LOCK_MS = 30_000;
/** A drained session is quiet this long with nothing outstanding before it is ended. */
const QUIET_MS = 1000;
/** Longest wait for a dead member's stored outputs to be resent (they go one at a time). */
const RESEND_TIMEOUT_MS = 120_000;

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const REFRESH_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/** What we call on the client beyond its public API (to hold PUBACKs until a message is done). */
interface ClientInternals {
  _sendPacket(packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]): void;
  outgoing: Record<number, unknown>;
  messageIdProvider: { deallocate(id: number): void };
}

/** Held PUBACKs by packet id; `release` sends one. */
const HELD = Symbol('held pubacks');
type Holder = MqttClient & { [HELD]: { release(messageId: number): void } };

/**
 * mqtt.js acknowledges a QoS 1 message as soon as its handler returns. We want the PUBACK
 * only once the output is published, so outgoing PUBACKs are held here and sent on ack.
 */
function holdPubacks(client: MqttClient): void {
  const raw = client as unknown as ClientInternals;
  const send = raw._sendPacket.bind(client);
  const held = new Set<number>();
  raw._sendPacket = (packet, cb, ...rest) => {
    if (packet.cmd === 'puback' && packet.messageId !== undefined) {
      held.add(packet.messageId);
      cb?.();
      return;
    }
    send(packet, cb, ...rest);
  };
  (client as Holder)[HELD] = {
    release(messageId) {
      // A session taken over by another client (or a lost connection) is redelivered anyway.
      if (held.delete(messageId) && client.connected) send({ cmd: 'puback', messageId });
    },
  };
  // A new connection starts a new delivery: PUBACKs held for the old one mean nothing.
  client.on('connect', () => held.clear());
}

class MqttSource implements StreamSource {
  readonly #url: StreamUrl;
  readonly #client: MqttClient;
  readonly #state: Redis;
  readonly #queue: DeliveryQueue<Received>;
  readonly #options: SourceOptions;
  readonly #inflight = new Map<string, Received>();
  /** Clients of dead members' sessions being drained right now. */
  readonly #takeovers = new Set<MqttClient>();
  #next = 0;
  #takingOver: Promise<void> | undefined;
  #closed = false;

  constructor(url: StreamUrl, client: MqttClient, state: Redis, queue: DeliveryQueue<Received>, options: SourceOptions) {
    this.#url = url;
    this.#client = client;
    this.#state = state;
    this.#queue = queue;
    this.#options = options;
  }

  async fetch(max: number, waitMs: number): Promise<Delivery[]> {
    const got = await this.#queue.take(max, waitMs);
    return got.map((r) => {
      const handle = String(++this.#next);
      this.#inflight.set(handle, r);
      return { handle, payload: r.payload, enqueuedAt: r.enqueuedAt, attempts: r.attempts };
    });
  }

  ack(deliveries: readonly Delivery[]): Promise<void> {
    for (const d of deliveries) {
      const r = this.#inflight.get(d.handle);
      this.#inflight.delete(d.handle);
      if (r) {
        (r.client as Holder)[HELD].release(r.messageId);
        r.done?.();
      }
    }
    return Promise.resolve();
  }

  /** MQTT redelivers only on reconnect: retry locally, first in line. */
  nak(deliveries: readonly Delivery[]): Promise<void> {
    const again: Received[] = [];
    for (const d of deliveries) {
      const r = this.#inflight.get(d.handle);
      this.#inflight.delete(d.handle);
      if (r) again.push({ ...r, attempts: r.attempts + 1 });
    }
    this.#queue.unshift(again);
    return Promise.resolve();
  }

  lag(): Promise<number | null> {
    return Promise.resolve(null);
  }

  async heartbeat(beat: ConsumerHeartbeat, ttlMs: number): Promise<void> {
    await writeHeartbeat(this.#state, this.#url, beat, ttlMs);
    await this.#state.sadd(membersKey(this.#url, this.#options.group), this.#options.consumer);
    // Look for dead members on every beat; one takeover at a time, in the background.
    if (!this.#takingOver && !this.#closed) {
      this.#takingOver = this.#takeOverDead()
        .catch((err: unknown) => this.#options.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'taking over a dead consumer\'s session failed; it will be tried again'))
        .finally(() => { this.#takingOver = undefined; });
    }
  }

  /** Members of the group whose heartbeat has expired, each taken over under its own lock. */
  async #takeOverDead(): Promise<void> {
    const { group, consumer } = this.#options;
    const others = (await this.#state.smembers(membersKey(this.#url, group))).filter((m) => m !== consumer).sort();
    if (others.length === 0) return;
    const alive = await this.#state.pipeline(others.map((m) => ['exists', heartbeatKey(this.#url, group, m)])).exec();
    for (const [i, dead] of others.entries()) {
      if (this.#closed) return;
      if (Number(alive?.[i]?.[1]) === 1) continue;
      const lock = lockKey(this.#url, group, dead);
      const token = randomUUID();
      if (await this.#state.set(lock, token, 'PX', LOCK_MS, 'NX') !== 'OK') continue;
      try {
        // It may have come back between the check and the lock.
        if (await this.#state.exists(heartbeatKey(this.#url, group, dead)) === 1) continue;
        this.#options.log?.info({ dead }, 'taking over the session of a consumer whose heartbeat expired');
        const drained = await this.#takeOver(dead, lock, token);
        if (drained === null) this.#options.log?.info({ dead }, 'takeover stopped: the session was taken back (the consumer returned) or the connection was lost; retried while the consumer stays silent');
        else this.#options.log?.info({ dead, messages: drained }, 'took over the session of a dead consumer');
      } finally {
        await this.#state.eval(RELEASE_LOCK, 1, lock, token).catch(() => undefined);
      }
    }
  }

  /**
   * Take over a dead member: first its output sessions (their stored QoS 2 publishes are
   * resent, so keys it claimed are delivered), then its input session, drained through our
   * own queue. The number of messages drained; null if the input session was lost (see
   * #drainInput). Throws if stored outputs cannot be confirmed. Either way nothing of the
   * member is forgotten, and a later beat tries again while its heartbeat stays absent.
   */
  async #takeOver(dead: string, lock: string, token: string): Promise<number | null> {
    const { group } = this.#options;
    const refresh = () => this.#state.eval(REFRESH_LOCK, 1, lock, token, String(LOCK_MS)).then((n) => {
      if (Number(n) !== 1) throw unavailable(this.#url, 'the takeover lock was lost (another consumer took over)');
    });
    const sinks = await this.#state.hgetall(sinksKey(group, dead));
    for (const [clientId, raw] of Object.entries(sinks)) {
      const rec = JSON.parse(raw) as SinkRecord;
      await this.#resendOutputs(brokerUrl(rec.url, mqttBroker), clientId, rec.dedupeTtlSeconds);
      await refresh();
    }
    const drained = await this.#drainInput(dead, refresh);
    if (drained === null) return null;
    await this.#state.multi().srem(membersKey(this.#url, group), dead).del(heartbeatKey(this.#url, group, dead)).del(sinksKey(group, dead)).exec();
    return drained;
  }

  /** Resume a dead member's output session with its stored packets, wait until all are confirmed, end it. */
  async #resendOutputs(url: StreamUrl, clientId: string, dedupeTtlSeconds: number): Promise<void> {
    const hash = outgoingHash(clientId);
    const store = new RedisOutgoingStore(this.#state, hash, (key) => idempotencyKey(url, key), dedupeTtlSeconds);
    // mqtt.js emits `connect` only once every stored packet has been sent and completed.
    const client = await connectMqtt(url, clientId, { outgoingStore: store as unknown as IClientOptions['outgoingStore'], reconnectPeriod: 0 }, undefined, RESEND_TIMEOUT_MS);
    this.#takeovers.add(client);
    try {
      if (await this.#state.hlen(hash) !== 0) throw unavailable(url, `stored outputs of ${clientId} were not all confirmed by the broker`);
      await client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
    } finally {
      this.#takeovers.delete(client);
      client.end(true);
    }
  }

  /**
   * Resume a dead member's input session, stop its subscription, and drain what it holds.
   * The number of messages drained, or null if the connection was lost (usually: the member
   * returned and took its session back, as Mosquitto closes the older connection).
   */
  async #drainInput(dead: string, refresh: () => Promise<void>): Promise<number | null> {
    const { group, maxBatch } = this.#options;
    let outstanding = 0;
    let received = 0;
    let lastActivity = Date.now();
    const done = () => {
      outstanding--;
      lastActivity = Date.now();
    };
    const client = await connectMqtt(this.#url, inputClientId(group, dead), { receiveMaximum: Math.max(maxBatch * 2, 20), reconnectPeriod: 0 }, (c) => {
      holdPubacks(c);
      c.on('message', (_topic, payload, packet) => {
        outstanding++;
        received++;
        lastActivity = Date.now();
        const enqueued = Number(packet.properties?.userProperties?.['ferry-enqueued-at']);
        this.#queue.push({ client: c, messageId: packet.messageId ?? 0, payload, enqueuedAt: Number.isFinite(enqueued) ? enqueued : Date.now(), attempts: 2, done });
      });
    });
    this.#takeovers.add(client);
    try {
      // No new messages for the dead member: only what its session already holds.
      await client.unsubscribeAsync(`$share/${group}/${this.#url.name}`);
      let refreshed = Date.now();
      for (;;) {
        if (this.#closed) throw unavailable(this.#url, `the takeover of ${dead} was stopped: this consumer is closing`);
        // Taken back by the member itself (Mosquitto closes the older connection) or lost: stop.
        // What we already got is deduped when it is delivered again; a later beat retries if the member stays silent.
        if (!client.connected) return null;
        if (outstanding === 0 && Date.now() - lastActivity >= QUIET_MS) break;
        if (Date.now() - refreshed >= 1000) {
          await refresh();
          refreshed = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Session expiry 0: Mosquitto forgets the session (and its subscriptions) now.
      await client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
      return received;
    } finally {
      this.#takeovers.delete(client);
      client.end(true);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.close();
    // A takeover in progress stops; the dead member's session keeps its messages for another survivor.
    for (const c of this.#takeovers) c.end(true);
    await this.#takingOver;
    // Unacknowledged messages stay in the persistent session and come back on reconnect.
    await this.#client.endAsync(true).catch(() => undefined);
    this.#state.disconnect();
  }
}

class MqttSink implements StreamSink {
  readonly #url: StreamUrl;
  readonly #client: MqttClient;
  readonly #state: Redis;
  readonly #duplicates = new Map<string, () => void>();
  readonly #store: RedisOutgoingStore;
  readonly #waiting: (() => void)[] = [];
  #inflight = 0;

  constructor(url: StreamUrl, client: MqttClient, state: Redis, store: RedisOutgoingStore) {
    this.#url = url;
    this.#client = client;
    this.#state = state;
    this.#store = store;
    store.onDuplicate = (key, messageId) => {
      // The publish is abandoned before it is sent: free its packet id and settle it.
      const raw = client as unknown as ClientInternals;
      delete raw.outgoing[messageId];
      raw.messageIdProvider.deallocate(messageId);
      this.#duplicates.get(key)?.();
    };
  }

  async publish(messages: readonly OutMessage[]): Promise<PublishOutcome[]> {
    // Cheap first pass: keys already claimed are duplicates without a round trip to the broker.
    const claimed = await this.#state.pipeline(messages.map((m) => ['exists', idempotencyKey(this.#url, m.key)])).exec();
    return Promise.all(messages.map(async (m, i) => {
      if (Number(claimed?.[i]?.[1]) === 1) return 'duplicate';
      await this.#slot();
      try {
        return await this.#publishOne(m);
      } finally {
        this.#release();
      }
    }));
  }

  #publishOne(m: OutMessage): Promise<PublishOutcome> {
    return new Promise<PublishOutcome>((resolve, reject) => {
      this.#duplicates.set(m.key, () => resolve('duplicate'));
      this.#client.publish(this.#url.name, m.payload, { qos: 2, properties: { userProperties: { [KEY_PROPERTY]: m.key } } }, (err) => {
        if (!err) {
          this.#store.forget(m.key);
          return resolve('published');
        }
        // Refused by the broker (a PUBREC error): the packet left the store, so the key is free again.
        // Lost connection: the packet stays stored and is sent again on reconnect; the key stays claimed.
        this.#store.releaseIfDropped(m.key).then(() => reject(unavailable(this.#url, err)), () => reject(unavailable(this.#url, err)));
      });
    }).finally(() => this.#duplicates.delete(m.key));
  }

  /** QoS 2 publishes in flight are limited to the broker's Receive Maximum (Mosquitto: 20). */
  async #slot(): Promise<void> {
    const limit = (this.#client as unknown as { connackPacket?: { properties?: { receiveMaximum?: number } } }).connackPacket?.properties?.receiveMaximum ?? 20;
    while (this.#inflight >= limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#inflight++;
  }

  #release(): void {
    this.#inflight--;
    this.#waiting.shift()?.();
  }

  async close(): Promise<void> {
    await this.#client.endAsync().catch(() => undefined);
    this.#state.disconnect();
  }
}

async function connectMqtt(url: StreamUrl, clientId: string, extra: Partial<IClientOptions> & { receiveMaximum?: number }, before?: (c: MqttClient) => void, timeoutMs = 5000): Promise<MqttClient> {
  const { receiveMaximum, ...rest } = extra;
  const client = mqtt.connect({
    host: url.host,
    port: url.port,
    protocol: 'mqtt',
    protocolVersion: 5,
    clientId,
    clean: false,
    reconnectPeriod: 500,
    connectTimeout: 5000,
    properties: { sessionExpiryInterval: 24 * 3600, ...(receiveMaximum ? { receiveMaximum } : {}) },
    ...rest,
  });
  before?.(client);
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      client.end(true);
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    const closed = () => fail(new Error('connection closed before it was ready'));
    client.once('connect', () => {
      clearTimeout(timer);
      client.removeListener('error', fail);
      client.removeListener('close', closed);
      resolve();
    });
    client.once('error', fail);
    // Without reconnects, a closed connection (e.g. the session taken over) will not connect.
    if (extra.reconnectPeriod === 0) client.once('close', closed);
  });
  client.on('error', () => undefined); // reconnects on its own
  return client;
}

function unavailable(url: StreamUrl, err: unknown) {
  if (err instanceof Error && err.name === 'FerryError') return err;
  if (typeof err === 'string') return ferry('FERRY_E_STREAM_UNAVAILABLE', { broker: 'MQTT', location: url.location, detail: err });
  return ferry('FERRY_E_STREAM_UNAVAILABLE', { broker: 'MQTT', location: url.location, detail: err instanceof Error ? err.message : String(err) }, err);
}

export type { StoredPacket };
