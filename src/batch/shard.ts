import { ferry } from '../core/errors.js';
import type { Cell } from '../core/frame.js';

/** Parse `--shard i/n` (0 ≤ i < n). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw ferry('FERRY_E_PARAMETER_INVALID', { name: '--shard', detail: `write i/n with 0 ≤ i < n (e.g. 0/3), got "${text}"` });
  return { index, count };
}

/**
 * The shard of a row: FNV-1a (32 bit) of the key cells as JSON, modulo n. Stable across
 * processes, machines and sources (a key read from CSV and from PostgreSQL hashes alike).
 */
export function shardOf(key: readonly Cell[], count: number): number {
  const text = JSON.stringify(key.map((c) => (typeof c === 'bigint' ? Number(c) : c)));
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % count;
}
