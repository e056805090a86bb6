import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Tensor } from '../core/tensor.js';
import { tensorBytes } from './tensor-ops.js';

/** Hit/miss counting for metrics. */
export interface CacheObserver {
  onLookup?(model: string, hit: boolean): void;
}

/**
 * Size-bounded LRU of model outputs, keyed by model version + requested outputs + the
 * canonical bytes of every input (name, dtype, shape, little-endian data). Off by default;
 * worth it only for models that see repeated identical inputs.
 */
export class ResponseCache {
  readonly #lru: LRUCache<string, Record<string, Tensor>>;
  readonly #observer: CacheObserver;

  constructor(maxBytes: number, observer: CacheObserver = {}) {
    this.#lru = new LRUCache({ maxSize: maxBytes, sizeCalculation: (v) => Math.max(1, Object.values(v).reduce((n, t) => n + tensorBytes(t), 64)) });
    this.#observer = observer;
  }

  key(versionKey: string, inputs: Readonly<Record<string, Tensor>>, outputs: readonly string[]): string {
    const h = createHash('sha256').update(versionKey).update('\0').update(outputs.join(',')).update('\0');
    for (const name of Object.keys(inputs).sort()) {
      const t = inputs[name] as Tensor;
      h.update(`${name}\0${t.dtype}\0${t.shape.join(',')}\0`);
      if (Array.isArray(t.data)) for (const s of t.data as readonly string[]) h.update(`${s.length}:${s}`);
      else {
        const v = t.data as Float32Array;
        h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      }
    }
    return h.digest('base64');
  }

  get(model: string, key: string): Record<string, Tensor> | undefined {
    const hit = this.#lru.get(key);
    this.#observer.onLookup?.(model, hit !== undefined);
    return hit;
  }

  set(key: string, outputs: Record<string, Tensor>): void {
    this.#lru.set(key, outputs);
  }
}
