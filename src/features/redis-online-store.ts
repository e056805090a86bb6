import { Redis } from 'ioredis';
import { ferry } from '../core/errors.js';
import type { Cell } from '../core/frame.js';
import type { OnlineStore, Progress, StoredRow } from './online-store.js';

/** The hash field holding a row's event time (feature names are identifiers, so no clash). */
const TIME_FIELD = '@t';
/** The hash field holding a row's values, as one JSON document (one HGET per entity and view). */
const VALUES_FIELD = '@v';

/**
 * The online store in Redis: one hash per view and entity (`<prefix><view>:<key>`, fields `@t`
 * and `@v`), read with pipelined `HMGET`s; a chunk and the view's progress key go in one
 * `MULTI`/`EXEC`, so a killed materialisation commits whole chunks or nothing.
 */
export class RedisOnlineStore implements OnlineStore {
  readonly location: string;
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, location: string, prefix: string) {
    this.#redis = redis;
    this.location = location;
    this.#prefix = prefix;
  }

  #key(view: string, key: string): string {
    return `${this.#prefix}${view}:${key}`;
  }

  #progressKey(view: string): string {
    return `${this.#prefix}@progress:${view}`;
  }

  async write(view: string, rows: readonly StoredRow[], progress: Progress): Promise<void> {
    const multi = this.#redis.multi();
    for (const r of rows) multi.hset(this.#key(view, r.key), TIME_FIELD, String(r.eventTime), VALUES_FIELD, JSON.stringify(r.values));
    multi.set(this.#progressKey(view), JSON.stringify(progress));
    await this.#guard(() => multi.exec());
  }

  async read(view: string, keys: readonly string[]): Promise<(StoredRow | undefined)[]> {
    if (keys.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const k of keys) pipeline.hmget(this.#key(view, k), TIME_FIELD, VALUES_FIELD);
    const results = await this.#guard(() => pipeline.exec());
    return keys.map((key, i) => {
      const [err, fields] = results?.[i] ?? [null, null];
      if (err) throw ferry('FERRY_E_FEATURE_STORE', { store: this.location, detail: err.message });
      const [time, values] = (fields ?? []) as (string | null)[];
      if (time === null || time === undefined || values === null || values === undefined) return undefined;
      return { key, eventTime: Number(time), values: JSON.parse(values) as Record<string, Cell> };
    });
  }

  async progress(view: string): Promise<Progress | undefined> {
    const text = await this.#guard(() => this.#redis.get(this.#progressKey(view)));
    return text ? JSON.parse(text) as Progress : undefined;
  }

  async setProgress(view: string, progress: Progress): Promise<void> {
    await this.#guard(() => this.#redis.set(this.#progressKey(view), JSON.stringify(progress)));
  }

  async drop(view: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#guard(() => this.#redis.scan(cursor, 'MATCH', `${this.#prefix}${view}:*`, 'COUNT', 1000));
      if (keys.length > 0) await this.#guard(() => this.#redis.del(...keys));
      cursor = next;
    } while (cursor !== '0');
    await this.#guard(() => this.#redis.del(this.#progressKey(view)));
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => undefined);
  }

  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw ferry('FERRY_E_FEATURE_STORE', { store: this.location, detail: err instanceof Error ? err.message : String(err) }, err);
    }
  }
}

/** Connect to `redis://host:port/db?prefix=…`; fails fast (no endless retries) when Redis is not there. */
export async function openRedisOnlineStore(url: string): Promise<RedisOnlineStore> {
  const parsed = new URL(url);
  const prefix = parsed.searchParams.get('prefix') ?? 'ferry:features:';
  parsed.search = '';
  const location = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  const redis = new Redis(parsed.toString(), { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, retryStrategy: (n) => (n > 3 ? null : 100 * n) });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw ferry('FERRY_E_FEATURE_STORE', { store: location, detail: err instanceof Error ? err.message : String(err) }, err);
  }
  return new RedisOnlineStore(redis, location, prefix);
}
