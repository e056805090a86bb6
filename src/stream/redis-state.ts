import { Redis } from 'ioredis';
import { ferry } from '../core/errors.js';
import type { ConsumerHeartbeat, StreamUrl } from './broker.js';

/**
 * Redis used as a side store: consumer heartbeats (every adapter may use them) and
 * idempotency records for brokers that have no dedupe of their own (MQTT, RabbitMQ).
 */

/** Open a Redis connection or fail with FERRY_E_STREAM_UNAVAILABLE. */
export async function connectRedis(host: string, port: number, what = 'Redis'): Promise<Redis> {
  const redis = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 3, enableOfflineQueue: true, retryStrategy: (n) => (n > 20 ? null : Math.min(n * 100, 1000)) });
  redis.on('error', () => undefined); // reported through the failing command instead
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw ferry('FERRY_E_STREAM_UNAVAILABLE', { broker: what, location: `redis://${host}:${port}`, detail: err instanceof Error ? err.message : String(err) }, err);
  }
  return redis;
}

/** Connect to the Redis a `redis://host:port[/…]` URL names. */
export function connectState(stateUrl: string): Promise<Redis> {
  let url: URL;
  try {
    url = new URL(stateUrl);
  } catch {
    throw ferry('FERRY_E_STREAM_URL_INVALID', { url: stateUrl, detail: 'the state store must be a Redis server', forms: 'redis://host:port' });
  }
  if (url.protocol !== 'redis:') throw ferry('FERRY_E_STREAM_URL_INVALID', { url: stateUrl, detail: 'the state store must be a Redis server', forms: 'redis://host:port' });
  return connectRedis(url.hostname || '127.0.0.1', url.port ? Number(url.port) : 6379, 'Redis (state store)');
}

const heartbeatPrefix = (url: StreamUrl, group: string) => `ferry:stream:hb:${url.scheme}:${url.name}:${group}:`;

/** The Redis key holding one consumer's heartbeat (gone once it expires). */
export const heartbeatKey = (url: StreamUrl, group: string, consumer: string) => `${heartbeatPrefix(url, group)}${consumer}`;

export async function writeHeartbeat(redis: Redis, url: StreamUrl, beat: ConsumerHeartbeat, ttlMs: number): Promise<void> {
  await redis.set(heartbeatKey(url, beat.group, beat.consumer), JSON.stringify(beat), 'PX', Math.max(1, Math.round(ttlMs)));
}

/** Heartbeats of live consumers of a group (expired ones are gone). */
export async function readHeartbeats(redis: Redis, url: StreamUrl, group: string): Promise<ConsumerHeartbeat[]> {
  const prefix = heartbeatPrefix(url, group);
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 200);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  return values.flatMap((v) => (v ? [JSON.parse(v) as ConsumerHeartbeat] : [])).sort((a, b) => a.consumer.localeCompare(b.consumer));
}

/** The idempotency record of one output key on one stream. */
export function idempotencyKey(url: StreamUrl, key: string): string {
  return `ferry:stream:idem:${url.scheme}:${url.name}:${key}`;
}
