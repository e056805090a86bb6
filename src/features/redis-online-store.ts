import { Redis } from 'ioredis';
import { ferry } from '../core/errors.js';
import type { Cell } from '../core/frame.js';
import type { OnlineStore, Progress, StoredRow, ViewRef } from './online-store.js';

/**
 * The online store in Redis: one hash per entity (`<prefix><entity>:<key>`), one field per view
 * holding `<event time ms>|<values as JSON>`. A service's lookup is then one `HMGET` per entity
 * naming the service's views, pipelined across entities — the precomputed vector of a service
 * without a copy per service (which would have to be rebuilt whenever a service's feature list
 * changes, and written once per service on every materialisation). A chunk and the view's progress
 * key go in one `MULTI`/`EXEC`, so a killed materialisation commits whole chunks or nothing, and a
 * reader sees each entity's vector either before or after a chunk, never half of one.
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

  #key(entity: string, key: string): string {
    return `${this.#prefix}${entity}:${key}`;
  }

  #progressKey(view: string): string {
    return `${this.#prefix}@progress:${view}`;
  }

  async write(view: ViewRef, rows: readonly StoredRow[], progress: Progress): Promise<void> {
    const multi = this.#redis.multi();
    for (const r of rows) multi.hset(this.#key(view.entity, r.key), view.name, `${r.eventTime}|${JSON.stringify(r.values)}`);
    multi.set(this.#progressKey(view.name), JSON.stringify(progress));
    await this.#guard(() => multi.exec());
  }

  async read(views: readonly ViewRef[], keys: readonly string[]): Promise<(StoredRow | undefined)[][]> {
    const out = views.map(() => new Array<StoredRow | undefined>(keys.length));
    const entity = views[0]?.entity;
    if (keys.length === 0 || entity === undefined) return out;
    const fields = views.map((v) => v.name);
    const pipeline = this.#redis.pipeline();
    for (const k of keys) pipeline.hmget(this.#key(entity, k), ...fields);
    const results = await this.#guard(() => pipeline.exec());
    keys.forEach((key, i) => {
      const [err, got] = results?.[i] ?? [null, null];
      if (err) throw ferry('FERRY_E_FEATURE_STORE', { store: this.location, detail: err.message });
      const values = (got ?? []) as (string | null)[];
      for (let v = 0; v < fields.length; v++) {
        const text = values[v];
        if (text === null || text === undefined) continue;
        const bar = text.indexOf('|');
        (out[v] as (StoredRow | undefined)[])[i] = { key, eventTime: Number(text.slice(0, bar)), values: JSON.parse(text.slice(bar + 1)) as Record<string, Cell> };
      }
    });
    return out;
  }

  async progress(view: string): Promise<Progress | undefined> {
    const text = await this.#guard(() => this.#redis.get(this.#progressKey(view)));
    return text ? JSON.parse(text) as Progress : undefined;
  }

  async setProgress(view: string, progress: Progress): Promise<void> {
    await this.#guard(() => this.#redis.set(this.#progressKey(view), JSON.stringify(progress)));
  }

  async drop(view: ViewRef): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#guard(() => this.#redis.scan(cursor, 'MATCH', `${this.#prefix}${view.entity}:*`, 'COUNT', 1000));
      if (keys.length > 0) {
        const pipeline = this.#redis.pipeline();
        for (const k of keys) pipeline.hdel(k, view.name);
        await this.#guard(() => pipeline.exec());
      }
      cursor = next;
    } while (cursor !== '0');
    await this.#guard(() => this.#redis.del(this.#progressKey(view.name)));
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
