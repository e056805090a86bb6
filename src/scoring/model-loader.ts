import type { Registry } from '../registry/registry.js';
import type { ModelVersion } from '../registry/types.js';
import type { RuntimeCatalog } from '../runtimes/catalog.js';
import type { RuntimeOptions } from '../runtimes/model-runtime.js';
import type { LoadedModel } from './scorer.js';

/**
 * Loads registered versions into runtimes, once each: the artifact is read from the
 * artifact store (verified against its digest) and handed to the runtime of its format.
 */
export class ModelLoader {
  readonly #registry: Registry;
  readonly #runtimes: RuntimeCatalog;
  readonly #options: RuntimeOptions;
  readonly #loaded = new Map<string, Promise<LoadedModel>>();

  constructor(registry: Registry, runtimes: RuntimeCatalog, options: RuntimeOptions) {
    this.#registry = registry;
    this.#runtimes = runtimes;
    this.#options = options;
  }

  /** Resolve a reference (`name`, `name:3`, `name@alias`) and load that version. */
  async load(ref: string): Promise<LoadedModel> {
    return this.loadVersion(await this.#registry.resolve(ref));
  }

  loadVersion(version: ModelVersion): Promise<LoadedModel> {
    const key = `${version.model}:${version.version}`;
    let loading = this.#loaded.get(key);
    if (!loading) {
      loading = this.#load(version, key);
      this.#loaded.set(key, loading);
      loading.catch(() => this.#loaded.delete(key));
    }
    return loading;
  }

  /** Release one loaded version (e.g. after an alias moved away from it). */
  async unload(version: ModelVersion): Promise<void> {
    const key = `${version.model}:${version.version}`;
    const loading = this.#loaded.get(key);
    this.#loaded.delete(key);
    if (loading) await (await loading).runtime.close();
  }

  async close(): Promise<void> {
    const all = [...this.#loaded.values()];
    this.#loaded.clear();
    await Promise.allSettled(all.map(async (p) => (await p).runtime.close()));
  }

  async #load(version: ModelVersion, key: string): Promise<LoadedModel> {
    const bytes = await this.#registry.loadArtifact(version);
    const runtime = await this.#runtimes.load(version.format, bytes, this.#options, key);
    return { version, runtime };
  }
}
