import type { Redis } from 'ioredis';
import { ferry } from '../../core/errors.js';
import type { ConsumerHeartbeat, Delivery, OutMessage, PublishOutcome, SinkOptions, SourceOptions, StreamBroker, StreamSink, StreamSource, StreamUrl } from '../broker.js';
import { connectRedis, idempotencyKey, readHeartbeats, writeHeartbeat } from '../redis-state.js';

/**
 * Redis Streams: a consumer group read with XREADGROUP (the JSON sits in the entry's field
 * `data`), XACK when done, XAUTOCLAIM to take over entries that a dead consumer left
 * pending. Publishing adds the entry and its idempotency record in one Lua script, so an
 * output and its record exist together or not at all.
 */
export const redisBroker: StreamBroker = {
  scheme: 'redis',
  defaultPort: 6379,
  urlForm: 'redis://host:port/<stream>',
  deadLetterName: (name) => `${name}.dead-letters`,
  async openSource(url, options) {
    const [reader, writer] = await Promise.all([connectRedis(url.host, url.port), connectRedis(url.host, url.port)]);
    const source = new RedisSource(url, reader, writer, options);
    try {
      await source.init();
    } catch (err) {
      await source.close();
      throw err;
    }
    return source;
  },
  async openSink(url, options) {
    return new RedisSink(url, await connectRedis(url.host, url.port), options);
  },
  async status(url, group) {
    const redis = await connectRedis(url.host, url.port);
    try {
      const info = await groupInfo(redis, url.name, group);
      return { stream: url.name, group, lag: info?.lag ?? null, pending: info?.pending ?? null, consumers: await readHeartbeats(redis, url, group) };
    } finally {
      redis.disconnect();
    }
  },
};

type Entry = [id: string, fields: string[] | null];

class RedisSource implements StreamSource {
  readonly #url: StreamUrl;
  /** Blocking reads have their own connection so acks of other batches never wait behind them. */
  readonly #reader: Redis;
  readonly #writer: Redis;
  readonly #options: SourceOptions;
  /** Re-read this consumer's own pending entries (after a restart or a nak) before new ones. */
  #ownCursor: string | undefined = '0';
  #claimCursor = '0-0';
  #nextClaim = 0;

  constructor(url: StreamUrl, reader: Redis, writer: Redis, options: SourceOptions) {
    this.#url = url;
    this.#reader = reader;
    this.#writer = writer;
    this.#options = options;
  }

  async init(): Promise<void> {
    try {
      await this.#writer.call('XGROUP', 'CREATE', this.#url.name, this.#options.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error && err.message.includes('BUSYGROUP'))) throw unavailable(this.#url, err);
    }
  }

  async fetch(max: number, waitMs: number): Promise<Delivery[]> {
    const { group, consumer } = this.#options;
    const key = this.#url.name;
    if (this.#ownCursor !== undefined) {
      const entries = streamEntries(await this.#reader.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max, 'STREAMS', key, this.#ownCursor));
      if (entries.length === 0) this.#ownCursor = undefined;
      else {
        this.#ownCursor = entries[entries.length - 1]?.[0];
        return this.#withAttempts(entries);
      }
    }
    if (Date.now() >= this.#nextClaim) {
      const reply = await this.#reader.call('XAUTOCLAIM', key, group, consumer, this.#options.reclaimIdleMs, this.#claimCursor, 'COUNT', max) as [string, Entry[] | null, string[]?];
      this.#claimCursor = reply[0];
      // A full pass over the pending list: wait before the next one.
      if (this.#claimCursor === '0-0') this.#nextClaim = Date.now() + Math.max(100, this.#options.reclaimIdleMs / 4);
      const entries = reply[1] ?? [];
      if (entries.length > 0) return this.#withAttempts(entries);
    }
    const args: (string | number)[] = ['XREADGROUP', 'GROUP', group, consumer, 'COUNT', max];
    if (waitMs > 0) args.push('BLOCK', Math.max(1, Math.round(waitMs)));
    args.push('STREAMS', key, '>');
    const entries = streamEntries(await this.#reader.call(...(args as [string, ...(string | number)[]])));
    return entries.map(([id, fields]) => toDelivery(id, fields, 1));
  }

  async ack(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.#writer.xack(this.#url.name, this.#options.group, ...deliveries.map((d) => d.handle));
  }

  /** Redis has no nak: the entries stay pending and are read again from this consumer's pending list. */
  nak(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length > 0) this.#ownCursor = '0';
    return Promise.resolve();
  }

  async lag(): Promise<number | null> {
    return (await groupInfo(this.#writer, this.#url.name, this.#options.group))?.lag ?? null;
  }

  heartbeat(beat: ConsumerHeartbeat, ttlMs: number): Promise<void> {
    return writeHeartbeat(this.#writer, this.#url, beat, ttlMs);
  }

  close(): Promise<void> {
    this.#reader.disconnect();
    this.#writer.disconnect();
    return Promise.resolve();
  }

  /** Entries read again (own pending, reclaimed) with their delivery counts. */
  async #withAttempts(entries: Entry[]): Promise<Delivery[]> {
    const first = entries[0]?.[0];
    const last = entries[entries.length - 1]?.[0];
    const counts = new Map<string, number>();
    if (first && last) {
      const pending = await this.#writer.call('XPENDING', this.#url.name, this.#options.group, first, last, entries.length, this.#options.consumer) as [string, string, number, number][];
      for (const [id, , , n] of pending) counts.set(id, Number(n));
    }
    const deleted = entries.filter(([, fields]) => fields === null).map(([id]) => id);
    // Trimmed away while pending: nothing to score, forget them.
    if (deleted.length > 0) await this.#writer.xack(this.#url.name, this.#options.group, ...deleted);
    return entries.filter(([, fields]) => fields !== null).map(([id, fields]) => toDelivery(id, fields, counts.get(id) ?? 2));
  }
}

/** XADD and SET NX EX in one script: an output and its idempotency record exist together or not at all. */
const PUBLISH_ONCE = `
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('XADD', KEYS[1], '*', 'data', ARGV[1])
  return 1
end
return 0`;

class RedisSink implements StreamSink {
  readonly #url: StreamUrl;
  readonly #redis: Redis;
  readonly #options: SinkOptions;
  #sha: string | undefined;

  constructor(url: StreamUrl, redis: Redis, options: SinkOptions) {
    this.#url = url;
    this.#redis = redis;
    this.#options = options;
  }

  async publish(messages: readonly OutMessage[]): Promise<PublishOutcome[]> {
    if (messages.length === 0) return [];
    for (let attempt = 0; ; attempt++) {
      this.#sha ??= String(await this.#redis.script('LOAD', PUBLISH_ONCE));
      const sha = this.#sha;
      const results = await this.#redis.pipeline(messages.map((m) => ['evalsha', sha, '2', this.#url.name, idempotencyKey(this.#url, m.key), m.payload, String(this.#options.dedupeTtlSeconds)])).exec();
      // The script cache is empty after a Redis restart: load it again once.
      if (attempt === 0 && results?.some(([err]) => err && String(err).includes('NOSCRIPT'))) {
        this.#sha = undefined;
        continue;
      }
      return (results ?? []).map(([err, value]) => {
        if (err) throw unavailable(this.#url, err);
        return Number(value) === 1 ? 'published' : 'duplicate';
      });
    }
  }

  close(): Promise<void> {
    this.#redis.disconnect();
    return Promise.resolve();
  }
}


function toDelivery(id: string, fields: string[] | null, attempts: number): Delivery {
  const at = (fields ?? []).indexOf('data');
  const data = at >= 0 && at % 2 === 0 ? (fields?.[at + 1] ?? '') : '';
  const ms = Number(id.split('-')[0]);
  return { handle: id, payload: Buffer.from(data, 'utf8'), enqueuedAt: Number.isFinite(ms) ? ms : undefined, attempts };
}

function streamEntries(reply: unknown): Entry[] {
  if (!Array.isArray(reply)) return [];
  // One stream read: [[key, entries]] (or [key, entries] as this client may flatten it).
  if (typeof reply[0] === 'string') return (reply[1] as Entry[] | undefined) ?? [];
  const first = reply[0] as [string, Entry[]] | undefined;
  return first?.[1] ?? [];
}

async function groupInfo(redis: Redis, key: string, group: string): Promise<{ lag: number | null; pending: number } | undefined> {
  let groups: unknown;
  try {
    groups = await redis.call('XINFO', 'GROUPS', key);
  } catch (err) {
    if (err instanceof Error && /no such key/i.test(err.message)) return undefined;
    throw err;
  }
  for (const g of groups as unknown[][]) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < g.length; i += 2) fields.set(String(g[i]), g[i + 1]);
    if (fields.get('name') === group) {
      const lag = fields.get('lag');
      return { lag: lag === null || lag === undefined ? null : Number(lag), pending: Number(fields.get('pending') ?? 0) };
    }
  }
  return undefined;
}

function unavailable(url: StreamUrl, err: unknown) {
  return ferry('FERRY_E_STREAM_UNAVAILABLE', { broker: 'Redis', location: url.location, detail: err instanceof Error ? err.message : String(err) }, err);
}
