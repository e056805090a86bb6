import type { Redis } from 'ioredis';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ferry } from '../core/errors.js';
import { safeName, type ConsumerHeartbeat, type Delivery, type OutMessage, type PublishOutcome, type StreamBroker, type StreamSink, type StreamSource, type StreamUrl } from './broker.js';
import { KEY_PROPERTY, RedisOutgoingStore, type StoredPacket } from './mqtt-store.js';
import { DeliveryQueue } from './queue.js';
import { idempotencyKey } from './redis.js';
import { connectState, readHeartbeats, writeHeartbeat } from './redis-state.js';

/**
 * MQTT (Mosquitto 2, MQTT 5): a shared subscription `$share/<group>/<topic>` at QoS 1 in a
 * persistent session (clean: false, session expiry), so messages not yet acknowledged are
 * delivered again when the consumer reconnects under the same name. PUBACK is held back
 * until the message is done. Outputs go out at QoS 2 through a Redis-backed outgoing store
 * that also holds the idempotency records (mqtt-store.ts). The broker keeps no group
 * state MQTT exposes, so lag is unknown and heartbeats live in the Redis state store.
 */
export const mqttBroker: StreamBroker = {
  scheme: 'mqtt',
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
          queue.push({ messageId: packet.messageId ?? 0, payload, enqueuedAt: Number.isFinite(enqueued) ? enqueued : Date.now(), attempts: packet.dup ? 2 : 1 });
        });
      });
      await client.subscribeAsync(`$share/${options.group}/${url.name}`, { qos: 1 });
    } catch (err) {
      state.disconnect();
      throw unavailable(url, err);
    }
    return new MqttSource(url, client, state, queue);
  },
  async openSink(url, options) {
    const state = await connectState(options.stateUrl);
    // One session per destination: outputs and dead letters must not share a client id.
    const clientId = `ferry-${safeName(options.group)}-${safeName(options.consumer)}-out-${safeName(url.name)}`;
    const store = new RedisOutgoingStore(state, `ferry:stream:mqtt-out:${clientId}`, (key) => idempotencyKey(url, key), options.dedupeTtlSeconds);
    try {
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
  readonly messageId: number;
  readonly payload: Uint8Array;
  readonly enqueuedAt: number;
  attempts: number;
}

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
      if (held.delete(messageId)) send({ cmd: 'puback', messageId });
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
  readonly #inflight = new Map<string, Received>();
  #next = 0;

  constructor(url: StreamUrl, client: MqttClient, state: Redis, queue: DeliveryQueue<Received>) {
    this.#url = url;
    this.#client = client;
    this.#state = state;
    this.#queue = queue;
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
      if (r) (this.#client as Holder)[HELD].release(r.messageId);
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

  heartbeat(beat: ConsumerHeartbeat, ttlMs: number): Promise<void> {
    return writeHeartbeat(this.#state, this.#url, beat, ttlMs);
  }

  async close(): Promise<void> {
    this.#queue.close();
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

async function connectMqtt(url: StreamUrl, clientId: string, extra: Partial<IClientOptions> & { receiveMaximum?: number }, before?: (c: MqttClient) => void): Promise<MqttClient> {
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
    client.once('connect', () => resolve());
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    setTimeout(() => reject(new Error('no CONNACK within 5 s')), 5000).unref();
  });
  client.on('error', () => undefined); // reconnects on its own
  return client;
}

function unavailable(url: StreamUrl, err: unknown) {
  if (err instanceof Error && err.name === 'FerryError') return err;
  return ferry('FERRY_E_STREAM_UNAVAILABLE', { broker: 'MQTT', location: url.location, detail: err instanceof Error ? err.message : String(err) }, err);
}

export type { StoredPacket };
