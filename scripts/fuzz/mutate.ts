/**
 * Mutations for the fuzzers: byte-level (flips, interesting values, cuts, duplicated and spliced
 * ranges) and, for text formats, number-level (a number replaced by one that stresses sizes and
 * counts). Deterministic: every choice comes from the seeded generator given.
 */

export { ProtoWriter } from '../../test/helpers/proto-writer.js';

/** A seeded generator of numbers in [0, 1). */
export type Rng = () => number;

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x3f, 0x40, 0x22, 0x5b, 0x7b, 0x3c];
const INTERESTING_NUMBERS = ['0', '-1', '1', '-0', '2147483647', '4294967296', '9007199254740993', '1e308', '-1e308', '1e-320', 'NaN', 'Infinity', '99999999', '65536', '1048577', '0.5'];

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
const int = (rng: Rng, below: number): number => Math.floor(rng() * below);

/** One to four random mutations of `input` (never the input itself). */
export function mutate(rng: Rng, input: Uint8Array, text: boolean, others: readonly Uint8Array[] = []): Uint8Array {
  let out: Buffer = Buffer.from(input);
  const steps = 1 + int(rng, 4);
  for (let s = 0; s < steps; s++) {
    const kinds = text ? ['number', 'number', 'flip', 'byte', 'cut', 'dup', 'truncate', 'splice', 'delete'] : ['flip', 'flip', 'byte', 'cut', 'dup', 'truncate', 'splice', 'delete', 'insert'];
    out = apply(rng, out, pick(rng, kinds), others);
  }
  return out;
}

function apply(rng: Rng, b: Buffer, kind: string, others: readonly Uint8Array[]): Buffer {
  if (b.length === 0) return Buffer.from([int(rng, 256)]);
  const at = int(rng, b.length);
  switch (kind) {
    case 'flip': {
      const c = Buffer.from(b);
      c[at] = (c[at] ?? 0) ^ (1 << int(rng, 8));
      return c;
    }
    case 'byte': {
      const c = Buffer.from(b);
      c[at] = pick(rng, INTERESTING_BYTES);
      return c;
    }
    case 'truncate': return b.subarray(0, at);
    case 'delete': return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(rng, 64)))]);
    case 'insert': return Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(rng, 16) }, () => int(rng, 256))), b.subarray(at)]);
    case 'cut': {
      const len = 1 + int(rng, Math.min(4096, b.length - at));
      return Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
    }
    case 'dup': {
      const len = 1 + int(rng, Math.min(4096, b.length - at));
      const times = 1 + int(rng, 8);
      return Buffer.concat([b.subarray(0, at + len), ...Array.from({ length: times }, () => b.subarray(at, at + len)), b.subarray(at + len)]);
    }
    case 'splice': {
      const other = others.length > 0 ? pick(rng, others) : b;
      const from = int(rng, Math.max(1, other.length));
      return Buffer.concat([b.subarray(0, at), Buffer.from(other.subarray(from, from + 1 + int(rng, 2048)))]);
    }
    case 'number': return replaceNumber(rng, b);
    default: return b;
  }
}

/** Replace one number in a text document by an interesting one. */
function replaceNumber(rng: Rng, b: Buffer): Buffer {
  const text = b.toString('latin1');
  const re = /-?\d+(\.\d+)?(e[+-]?\d+)?/gi;
  const spans: [number, number][] = [];
  for (let m = re.exec(text); m !== null && spans.length < 20_000; m = re.exec(text)) spans.push([m.index, m.index + m[0].length]);
  if (spans.length === 0) return b;
  const [from, to] = pick(rng, spans);
  return Buffer.from(text.slice(0, from) + pick(rng, INTERESTING_NUMBERS) + text.slice(to), 'latin1');
}

export const randomInt = int;
export const randomPick = pick;
