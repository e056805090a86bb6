/**
 * A decoder for the legacy `.lzma` ("LZMA alone") format that joblib writes with
 * `compress="lzma"`: a 13-byte header (properties, dictionary size, uncompressed size or
 * unknown) and one LZMA1 stream. It follows the structure of the LZMA SDK's reference decoder
 * (LzmaSpec.cpp, public domain) and writes into an output that refuses to grow past `maxBytes`,
 * so a small file cannot expand into unbounded memory. (xz files, LZMA2 inside a container, go
 * through xz-decompress; no maintained npm package decodes LZMA1 with a bound on its output.)
 */
import { PickleError, PickleLimitExceeded } from './values.js';

const PROB_INIT = 1024;

class RangeDecoder {
  range = 0xffffffff;
  code = 0;
  pos: number;

  constructor(private readonly buf: Uint8Array, pos: number) {
    if (buf[pos] !== 0) throw new PickleError('the lzma stream is damaged (bad range coder start)');
    this.pos = pos + 1;
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.byte()) >>> 0;
    if (this.code === this.range) throw new PickleError('the lzma stream is damaged');
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new PickleError('the lzma stream ends early');
    return this.buf[this.pos++]!;
  }

  normalize(): void {
    if (this.range < 0x1000000) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.byte()) >>> 0;
    }
  }

  direct(bits: number): number {
    let res = 0;
    for (let i = 0; i < bits; i++) {
      this.range >>>= 1;
      this.code = (this.code - this.range) >>> 0;
      const borrow = this.code >>> 31; // 1: code was below range, undo
      if (borrow) this.code = (this.code + this.range) >>> 0;
      res = res * 2 + (1 - borrow);
      this.normalize();
    }
    return res;
  }

  bit(probs: Uint16Array, i: number): number {
    const p = probs[i]!;
    const bound = (this.range >>> 11) * p;
    let bit: number;
    if (this.code < bound) {
      probs[i] = p + ((2048 - p) >>> 5);
      this.range = bound;
      bit = 0;
    } else {
      probs[i] = p - (p >>> 5);
      this.code = (this.code - bound) >>> 0;
      this.range = (this.range - bound) >>> 0;
      bit = 1;
    }
    this.normalize();
    return bit;
  }

  tree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) + this.bit(probs, base + m);
    return m - (1 << bits);
  }

  reverse(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(probs, base + m);
      m = (m << 1) + b;
      sym |= b << i;
    }
    return sym;
  }
}

/** choice, choice2, low[16] (8 each), mid[16] (8 each), high (256). */
class LenDecoder {
  readonly p = new Uint16Array(2 + 16 * 8 + 16 * 8 + 256).fill(PROB_INIT);
  decode(rc: RangeDecoder, posState: number): number {
    if (rc.bit(this.p, 0) === 0) return rc.tree(this.p, 2 + posState * 8, 3);
    if (rc.bit(this.p, 1) === 0) return 8 + rc.tree(this.p, 2 + 128 + posState * 8, 3);
    return 16 + rc.tree(this.p, 2 + 256, 8);
  }
}

/** Output that grows by doubling and never past `max` bytes. */
class Output {
  buf: Uint8Array;
  pos = 0;
  constructor(hint: number, private readonly max: number) {
    this.buf = new Uint8Array(Math.max(1, Math.min(hint, max)));
  }
  put(b: number): void {
    if (this.pos === this.buf.length) this.grow();
    this.buf[this.pos++] = b;
  }
  back(dist: number): number {
    return this.buf[this.pos - dist]!;
  }
  private grow(): void {
    if (this.buf.length >= this.max) throw new PickleLimitExceeded('decompressed size', `the file decompresses to more than ${this.max} bytes`);
    const b = new Uint8Array(Math.min(this.max, this.buf.length * 2));
    b.set(this.buf);
    this.buf = b;
  }
}

/** Decode an LZMA-alone file into at most `maxBytes` bytes. */
export function decodeLzmaAlone(input: Uint8Array, maxBytes: number): Uint8Array {
  if (input.length < 13) throw new PickleError('the lzma header is truncated');
  let d = input[0]!;
  if (d >= 9 * 5 * 5) throw new PickleError('the lzma properties byte is invalid');
  const lc = d % 9;
  d = Math.floor(d / 9);
  const lp = d % 5;
  const pb = Math.floor(d / 5);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const dictSize = Math.max(view.getUint32(1, true), 1 << 12);
  const lo = view.getUint32(5, true);
  const hi = view.getUint32(9, true);
  const sizeKnown = !(lo === 0xffffffff && hi === 0xffffffff);
  const declared = hi * 2 ** 32 + lo;
  if (sizeKnown && declared > maxBytes) throw new PickleLimitExceeded('decompressed size', `the lzma header declares ${declared} bytes, more than ${maxBytes}`);
  let remaining = sizeKnown ? declared : Number.POSITIVE_INFINITY;
  const out = new Output(sizeKnown ? declared : input.length * 4, maxBytes);
  const rc = new RangeDecoder(input, 13);

  const literal = new Uint16Array(0x300 << (lc + lp)).fill(PROB_INIT);
  const posSlot = new Uint16Array(4 << 6).fill(PROB_INIT);
  const posDecoders = new Uint16Array(1 + 128 - 14).fill(PROB_INIT);
  const align = new Uint16Array(1 << 4).fill(PROB_INIT);
  const isMatch = new Uint16Array(12 << 4).fill(PROB_INIT);
  const isRep = new Uint16Array(12).fill(PROB_INIT);
  const isRepG0 = new Uint16Array(12).fill(PROB_INIT);
  const isRepG1 = new Uint16Array(12).fill(PROB_INIT);
  const isRepG2 = new Uint16Array(12).fill(PROB_INIT);
  const isRep0Long = new Uint16Array(12 << 4).fill(PROB_INIT);
  const lenDecoder = new LenDecoder();
  const repLenDecoder = new LenDecoder();
  const damaged = (why: string): never => {
    throw new PickleError(`the lzma stream is damaged (${why})`);
  };

  let state = 0;
  let rep0 = 0;
  let rep1 = 0;
  let rep2 = 0;
  let rep3 = 0;
  const pbMask = (1 << pb) - 1;
  const lpMask = (1 << lp) - 1;
  for (;;) {
    if (remaining === 0 && rc.code === 0) break; // size reached, no end marker
    const posState = out.pos & pbMask;
    if (rc.bit(isMatch, (state << 4) + posState) === 0) {
      if (remaining === 0) damaged('data past the declared size');
      const prev = out.pos > 0 ? out.back(1) : 0;
      const base = 0x300 * (((out.pos & lpMask) << lc) + (prev >>> (8 - lc)));
      let symbol = 1;
      if (state >= 7) {
        let match = out.back(rep0 + 1);
        do {
          const matchBit = (match >>> 7) & 1;
          match <<= 1;
          const b = rc.bit(literal, base + ((1 + matchBit) << 8) + symbol);
          symbol = (symbol << 1) | b;
          if (matchBit !== b) break;
        } while (symbol < 0x100);
      }
      while (symbol < 0x100) symbol = (symbol << 1) | rc.bit(literal, base + symbol);
      out.put(symbol - 0x100);
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      remaining--;
      continue;
    }
    let len: number;
    if (rc.bit(isRep, state) !== 0) {
      if (remaining === 0 || out.pos === 0) damaged('a repeated match with nothing before it');
      if (rc.bit(isRepG0, state) === 0) {
        if (rc.bit(isRep0Long, (state << 4) + posState) === 0) {
          state = state < 7 ? 9 : 11;
          out.put(out.back(rep0 + 1));
          remaining--;
          continue;
        }
      } else {
        let dist: number;
        if (rc.bit(isRepG1, state) === 0) dist = rep1;
        else {
          if (rc.bit(isRepG2, state) === 0) dist = rep2;
          else {
            dist = rep3;
            rep3 = rep2;
          }
          rep2 = rep1;
        }
        rep1 = rep0;
        rep0 = dist;
      }
      len = repLenDecoder.decode(rc, posState);
      state = state < 7 ? 8 : 11;
    } else {
      rep3 = rep2;
      rep2 = rep1;
      rep1 = rep0;
      len = lenDecoder.decode(rc, posState);
      state = state < 7 ? 7 : 10;
      // The distance: a 6-bit slot per length state, then direct and aligned bits.
      const slot = rc.tree(posSlot, Math.min(len, 3) << 6, 6);
      if (slot < 4) rep0 = slot;
      else {
        const direct = (slot >>> 1) - 1;
        let dist = (2 | (slot & 1)) * 2 ** direct;
        if (slot < 14) dist += rc.reverse(posDecoders, dist - slot, direct);
        else dist += rc.direct(direct - 4) * 16 + rc.reverse(align, 0, 4);
        rep0 = dist;
      }
      if (rep0 === 0xffffffff) {
        if (rc.code !== 0) damaged('data after the end marker');
        break; // end marker
      }
      if (remaining === 0) damaged('a match past the declared size');
      if (rep0 >= dictSize || rep0 >= out.pos) damaged('a match reaches before the start');
    }
    len += 2;
    if (len > remaining) damaged('a match past the declared size');
    for (let i = 0; i < len; i++) out.put(out.back(rep0 + 1));
    remaining -= len;
  }
  if (sizeKnown && out.pos !== declared) damaged(`${out.pos} bytes decoded, the header declares ${declared}`);
  return out.buf.subarray(0, out.pos);
}
