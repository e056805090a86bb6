import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';

/**
 * The MQTT client's outgoing store kept in Redis, so QoS 2 publishes survive a crash: after
 * a restart the client (same client id, persistent session) sends them again with the same
 * packet id and the broker, which still holds that id, does not deliver them twice. Storing
 * a publish also claims its idempotency key in the same Lua script: a key is claimed exactly
 * when its output is stored (or already delivered), so a redelivered input is never
 * published again.
 */

/** The slice of an mqtt-packet packet this store keeps. */
export interface StoredPacket {
  cmd: string;
  messageId?: number;
  topic?: string;
  payload?: Buffer | string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  properties?: { userProperties?: Record<string, string | string[]> };
}

type Done = (err?: Error) => void;
type PacketDone = (err?: Error, packet?: StoredPacket) => void;

/** Stores the packet unless its key is claimed; claims the key when it stores. */
const STORE_AND_CLAIM = `
if ARGV[3] ~= '' then
  if not redis.call('SET', ARGV[3], '1', 'NX', 'EX', ARGV[4]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

const RELEASE_IF_DROPPED = `
local p = redis.call('HGET', KEYS[1], ARGV[1])
if not p or not string.find(p, ARGV[2], 1, true) then redis.call('DEL', KEYS[2]) end
return 1`;

export const KEY_PROPERTY = 'ferry-key';

export class RedisOutgoingStore {
  readonly #redis: Redis;
  readonly #hash: string;
  readonly #claimKey: (key: string) => string;
  readonly #ttlSeconds: number;
  /** Packet id under which each key was stored (until its publish settles). */
  readonly #stored = new Map<string, number>();
  /** Called instead of storing when the packet's key was already claimed. */
  onDuplicate: (key: string, messageId: number) => void = () => undefined;

  constructor(redis: Redis, hash: string, claimKey: (key: string) => string, ttlSeconds: number) {
    this.#redis = redis;
    this.#hash = hash;
    this.#claimKey = claimKey;
    this.#ttlSeconds = ttlSeconds;
  }

  put(packet: StoredPacket, cb: Done): this {
    const key = packet.cmd === 'publish' ? keyOf(packet) : undefined;
    this.#redis.eval(STORE_AND_CLAIM, 1, this.#hash, String(packet.messageId ?? 0), encode(packet), key === undefined ? '' : this.#claimKey(key), String(this.#ttlSeconds))
      .then((stored) => {
        if (key !== undefined && Number(stored) === 1) this.#stored.set(key, packet.messageId ?? 0);
        if (Number(stored) === 1 || key === undefined) cb();
        // Not stored: the packet must not be sent either, so `cb` is never called.
        else this.onDuplicate(key, packet.messageId ?? 0);
      }, (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))));
    return this;
  }

  /** After a failed publish: free the key unless its packet is still stored (to be sent again). */
  async releaseIfDropped(key: string): Promise<void> {
    const mid = this.#stored.get(key);
    this.#stored.delete(key);
    if (mid === undefined) return;
    // The packet id may already carry another packet: compare the key it holds.
    await this.#redis.eval(RELEASE_IF_DROPPED, 2, this.#hash, this.#claimKey(key), String(mid), JSON.stringify(key));
  }

  /** The publish of `key` completed. */
  forget(key: string): void {
    this.#stored.delete(key);
  }

  get(packet: Pick<StoredPacket, 'messageId'>, cb: PacketDone): this {
    this.#redis.hget(this.#hash, String(packet.messageId ?? 0)).then(
      (raw) => (raw ? cb(undefined, decode(raw)) : cb(new Error('missing packet'))),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
    return this;
  }

  del(packet: Pick<StoredPacket, 'messageId'>, cb: PacketDone): this {
    const field = String(packet.messageId ?? 0);
    this.#redis.multi().hget(this.#hash, field).hdel(this.#hash, field).exec().then(
      (res) => {
        const raw = res?.[0]?.[1];
        if (typeof raw === 'string') cb(undefined, decode(raw));
        else cb(new Error('missing packet'));
      },
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
    return this;
  }

  /** Every stored packet, oldest packet id first, for the client to resend after a reconnect. */
  createStream(): Readable {
    const stream = new Readable({ objectMode: true, read() { /* filled below */ } });
    this.#redis.hvals(this.#hash).then(
      (values) => {
        for (const p of values.map(decode).sort((a, b) => (a.messageId ?? 0) - (b.messageId ?? 0))) stream.push(p);
        stream.push(null);
      },
      (err: unknown) => stream.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    return stream;
  }

  close(cb: Done): void {
    cb();
  }
}

function keyOf(packet: StoredPacket): string | undefined {
  const v = packet.properties?.userProperties?.[KEY_PROPERTY];
  return Array.isArray(v) ? v[0] : v;
}

function encode(packet: StoredPacket): string {
  const payload = packet.payload === undefined ? undefined : Buffer.from(packet.payload).toString('base64');
  return JSON.stringify({ ...packet, payload });
}

function decode(raw: string): StoredPacket {
  const p = JSON.parse(raw) as StoredPacket & { payload?: string };
  return { ...p, ...(p.payload === undefined ? {} : { payload: Buffer.from(p.payload, 'base64') }) };
}
