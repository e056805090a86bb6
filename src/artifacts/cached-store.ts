import type { ArtifactStore, PutResult } from './artifact-store.js';
import type { LocalArtifactStore } from './local-store.js';

/**
 * A shared store (PostgreSQL, S3) with a local copy of every blob this machine has read,
 * kept by digest. Blobs never change under a digest, so the cache needs no invalidation; the
 * local copy is verified on every read like any local blob, and a damaged one is fetched again.
 */
export class CachedArtifactStore implements ArtifactStore {
  readonly location: string;
  readonly #shared: ArtifactStore;
  readonly #cache: LocalArtifactStore;

  constructor(shared: ArtifactStore, cache: LocalArtifactStore) {
    this.#shared = shared;
    this.#cache = cache;
    this.location = shared.location;
  }

  async put(bytes: Uint8Array): Promise<PutResult> {
    const result = await this.#shared.put(bytes);
    // A failed cache write costs a later fetch, never the registration.
    await this.#cache.put(bytes).catch(() => undefined);
    return result;
  }

  async get(digest: string, label: string): Promise<Uint8Array> {
    if (await this.#cache.has(digest)) {
      try {
        return await this.#cache.get(digest, label);
      } catch {
        await this.#cache.delete(digest).catch(() => undefined);
      }
    }
    const bytes = await this.#shared.get(digest, label);
    await this.#cache.put(bytes).catch(() => undefined);
    return bytes;
  }

  has(digest: string): Promise<boolean> {
    return this.#shared.has(digest);
  }

  async delete(digest: string): Promise<void> {
    await this.#shared.delete(digest);
    await this.#cache.delete(digest);
  }

  list(): Promise<string[]> {
    return this.#shared.list();
  }

  storedAt(digest: string): Promise<Date | undefined> {
    return this.#shared.storedAt(digest);
  }

  async sweepIncomplete(olderThanMs: number): Promise<number> {
    return (await this.#shared.sweepIncomplete(olderThanMs)) + (await this.#cache.sweepIncomplete(olderThanMs));
  }

  async close(): Promise<void> {
    await this.#shared.close?.();
  }
}
