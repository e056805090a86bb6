import { ferry, FerryError, quoteList } from '../core/errors.js';
import { allocate, type Tensor } from '../core/tensor.js';
import type { Registry } from '../registry/registry.js';
import type { ModelVersion, TrafficSetting } from '../registry/types.js';
import type { DeploymentsConfig, ModelDeployment } from './deployment-config.js';
import type { ModelLoader } from './model-loader.js';
import type { LoadedModel, Scorer } from './scorer.js';
import { TrafficSplit } from './traffic-split.js';

/** Model states as the repository extension names them. */
export type ModelState = 'UNKNOWN' | 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

/** A loaded version and who is using it. */
interface Entry {
  readonly loaded: LoadedModel;
  leases: number;
  retired: boolean;
}

/** A served name for a version: `latest`, an alias, or `:<n>` for an explicit version. */
interface Pointer {
  readonly name: string;
  version: number | undefined;
  entry: Entry | undefined;
  state: ModelState;
  reason: string;
  loading: Promise<Entry> | undefined;
  /** False for an explicit version served on demand (`:3` asked by a request, not by the config). */
  readonly configured: boolean;
  /** performance.now() of the last lease (least recently used on-demand versions are evicted first). */
  lastUsed: number;
  /** performance.now() of the last failed load of `version` (retried, at most every RELOAD_RETRY_MS). */
  failedAt?: number;
}

/**
 * How often a reload that failed (artifact store or registry unreachable, a damaged artifact) is
 * tried again while the old version serves: at most every 5 s, or every poll if polls are rarer.
 */
const RELOAD_RETRY_MS = 5_000;

interface Served {
  readonly name: string;
  /** As configured (ferry.yaml or the defaults). */
  readonly base: ModelDeployment;
  /** What applies now: `base` with the registry's traffic setting in place of its canary and shadow. */
  config: ModelDeployment;
  /** The registry's traffic setting in force, if any. */
  traffic: TrafficSetting | undefined;
  readonly pointers: Map<string, Pointer>;
  /** Loaded (or loading) versions, shared by the pointers that name them. */
  readonly entries: Map<number, Promise<Entry>>;
  /** Retired versions still leased by requests in flight; closed when the last lease ends. */
  readonly draining: Map<number, Entry>;
  /** False after a repository unload: requests get 503 until it is loaded again. */
  enabled: boolean;
}

/** A version lent to one request; `release` when the request is done. */
export interface Lease {
  readonly loaded: LoadedModel;
  /** The pointer it was leased through (`latest`, an alias, or `:<n>` for an explicit version). */
  readonly pointer: string;
  /** The model's deployment settings. */
  readonly deployment: ModelDeployment;
  release(): void;
}

/** One row of the repository index. */
export interface IndexEntry {
  readonly name: string;
  readonly version: string;
  readonly state: ModelState;
  readonly reason: string;
}

/** What Deployments reads and loads with. */
export interface DeploymentsParts {
  readonly registry: Pick<Registry, 'resolve' | 'store'>;
  readonly loader: Pick<ModelLoader, 'loadVersion' | 'unload'>;
  readonly scorer: Pick<Scorer, 'tensors' | 'release'>;
}

export interface DeploymentsLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Which model versions a server or stream consumer keeps loaded, and their lifecycle: discovery from the
 * registry, eager or lazy loading, warm-up, readiness, and hot reload when an alias moves.
 * A request leases the version it starts with; a replaced version is closed only after
 * its last lease is released, so in-flight requests finish on it.
 */
export class Deployments {
  readonly #parts: DeploymentsParts;
  readonly #config: DeploymentsConfig;
  readonly #log: DeploymentsLog;
  readonly #served = new Map<string, Served>();
  readonly #routers = new Map<string, TrafficSplit>();
  readonly #onLoadedChange: (delta: number) => void;
  #poll: NodeJS.Timeout | undefined;
  #watch: { close(): Promise<void> } | undefined;
  #refreshing: Promise<void> | undefined;
  /** A change was announced while a refresh ran (it may have read the old state): run one more. */
  #again = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #lastRefresh = 0;

  constructor(parts: DeploymentsParts, config: DeploymentsConfig, log: DeploymentsLog, onLoadedChange: (delta: number) => void = () => undefined) {
    this.#parts = parts;
    this.#config = config;
    this.#log = log;
    this.#onLoadedChange = onLoadedChange;
  }

  /** Discover served models, load the eager ones, start watching aliases. */
  async start(): Promise<void> {
    await this.refresh();
    await Promise.all([...this.#served.values()].filter((s) => s.config.load === 'eager').flatMap((s) => [...s.pointers.values()].map((p) => this.#ensure(s, p).catch(() => undefined))));
    this.#poll = setInterval(() => { this.refresh().catch((err: unknown) => this.#log.warn({ err }, 'registry poll failed')); }, this.#config.pollIntervalMs);
    this.#poll.unref();
    // Where the registry pushes changes (PostgreSQL NOTIFY), an alias move is served at once;
    // the poll stays as the fallback for a listener that is reconnecting.
    const watch = this.#parts.registry.store.watch;
    if (watch) {
      try {
        this.#watch = await watch(() => this.#changed());
      } catch (err) {
        this.#log.warn({ err }, 'registry change notifications unavailable; polling only');
      }
    }
  }

  #changed(): void {
    if (this.#closed) return;
    if (this.#refreshing) this.#again = true;
    else this.refresh().catch((err: unknown) => this.#log.warn({ err }, 'registry refresh after a change failed'));
  }

  /** Names of the served models. */
  get models(): string[] {
    return [...this.#served.keys()].sort();
  }

  config(model: string): ModelDeployment {
    return this.#get(model).config;
  }

  /** Who set the model's canary and shadow in the registry, and when; undefined = as configured (ferry.yaml). */
  trafficSetBy(model: string): { readonly actor: string; readonly at: string } | undefined {
    const t = this.#get(model).traffic;
    return t ? { actor: t.updatedBy, at: t.updatedAt } : undefined;
  }

  /**
   * The pointer a request without a version goes to: the model's route, or the next target
   * of its canary split.
   */
  route(model: string): string {
    const config = this.#get(model).config;
    if (!config.canary || config.canary.length === 0) return config.route;
    let split = this.#routers.get(model);
    if (!split) {
      split = new TrafficSplit(config.canary);
      this.#routers.set(model, split);
    }
    return split.next();
  }

  /**
   * Whether the server can answer: every enabled eager model has its configured pointers
   * loaded. Versions requested on demand never count, so no request can take a replica out
   * of rotation.
   */
  get ready(): boolean {
    return [...this.#served.values()].every((s) => !s.enabled || s.config.load === 'lazy' || [...s.pointers.values()].every((p) => !p.configured || p.state === 'READY'));
  }

  /** Whether one model (optionally one version or alias) is ready to answer now. */
  isReady(model: string, pointer?: string): boolean {
    const served = this.#served.get(model);
    if (!served?.enabled) return false;
    const name = pointer === undefined ? served.config.route : pointerName(pointer);
    const p = served.pointers.get(name) ?? [...served.pointers.values()].find((x) => pointer !== undefined && String(x.version) === pointer);
    return p?.state === 'READY';
  }

  /** The registry version a pointer names now: no loading, and no serving state created. */
  async describe(model: string, pointer?: string): Promise<ModelVersion> {
    const served = this.#get(model);
    const requested = pointer ?? served.config.route;
    const p = served.pointers.get(pointerName(requested)) ?? (/^\d+$/.test(requested) ? undefined : await this.#pointer(served, requested));
    if (!p) return this.#servable(served, Number(requested));
    if (p.entry) return p.entry.loaded.version;
    if (p.version === undefined) throw ferry('FERRY_E_NO_LIVE_VERSION', { model });
    return this.#parts.registry.resolve(`${model}:${p.version}`);
  }

  /** Lease the version a request should use: a pointer, a version number, or the model's route. */
  async acquire(model: string, pointer?: string): Promise<Lease> {
    const served = this.#get(model);
    if (!served.enabled) throw ferry('FERRY_E_MODEL_NOT_READY', { model, state: 'UNAVAILABLE', reason: ': unloaded through the repository API' });
    const p = await this.#pointer(served, pointer ?? served.config.route);
    let entry = await this.#ensure(served, p);
    // A swap may have retired this entry while we awaited; take the pointer's current one.
    for (let tries = 0; entry.retired && tries < 3; tries++) entry = await this.#ensure(served, p);
    if (entry.leases < 0) throw ferry('FERRY_E_MODEL_NOT_READY', { model, state: 'UNLOADING', reason: '' });
    entry.leases++;
    p.lastUsed = performance.now();
    let released = false;
    return {
      loaded: entry.loaded,
      pointer: p.name,
      deployment: served.config,
      release: () => {
        if (released) return;
        released = true;
        entry.leases--;
        this.#maybeClose(served, entry);
      },
    };
  }

  /** Repository index: one row per served pointer. */
  index(readyOnly = false): IndexEntry[] {
    const rows: IndexEntry[] = [];
    for (const s of [...this.#served.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const seen = new Set<string>();
      for (const p of s.pointers.values()) {
        const state = s.enabled ? p.state : 'UNAVAILABLE';
        // The version answering now: after a failed reload that is still the old one.
        const serving = p.entry?.loaded.version.version ?? p.version;
        const version = serving === undefined ? p.name : String(serving);
        // Several pointers (latest, champion) may name one version: one row per version.
        if ((readyOnly && state !== 'READY') || seen.has(version)) continue;
        seen.add(version);
        rows.push({ name: s.name, version, state, reason: s.enabled ? p.reason : 'unloaded' });
      }
    }
    return rows;
  }

  /** Repository load: (re)enable a model and load its pointers now. */
  async load(model: string): Promise<void> {
    await this.refresh();
    let served = this.#served.get(model);
    if (!served) {
      await this.#parts.registry.resolve(model);
      served = this.#add(model, { ...this.#config.defaults, name: model });
      await this.#syncPointers(served);
    }
    served.enabled = true;
    const results = await Promise.allSettled([...served.pointers.values()].map((p) => this.#ensure(served, p)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Repository unload: stop answering for a model and close its versions once idle. */
  unload(model: string): void {
    const served = this.#get(model);
    served.enabled = false;
    for (const p of served.pointers.values()) {
      const entry = p.entry;
      p.entry = undefined;
      p.state = 'UNAVAILABLE';
      p.reason = 'unloaded';
      if (entry) this.#retire(served, entry);
    }
  }

  /**
   * Re-read the registry: new models (when serving everything), moved aliases, new latest
   * versions. Loaded pointers whose version changed load and warm the new version, then switch.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
      if (this.#again) {
        this.#again = false;
        this.#changed();
      }
    });
    return this.#refreshing;
  }

  /** Stop following the registry and release every served version (once; later calls wait for the first). */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    await this.#watch?.close();
    await this.#refreshing?.catch(() => undefined);
    for (const s of this.#served.values()) {
      for (const p of s.pointers.values()) {
        const entry = p.entry ?? (await p.loading?.catch(() => undefined));
        p.entry = undefined;
        if (entry) this.#retire(s, entry);
      }
    }
  }

  async #refresh(): Promise<void> {
    if (this.#closed) return;
    this.#lastRefresh = performance.now();
    const wanted = this.#config.models ?? (await this.#parts.registry.store.listModels()).map((m) => ({ ...this.#config.defaults, name: m.name }));
    for (const cfg of wanted) if (!this.#served.has(cfg.name)) this.#add(cfg.name, cfg);
    if (this.#config.registryTraffic) await this.#applyTraffic();
    await Promise.all([...this.#served.values()].map((s) => this.#syncPointers(s).catch((err: unknown) => {
      this.#log.warn({ model: s.name, err }, 'could not read the registry for this model');
    })));
  }

  /**
   * Put each model's traffic setting from the registry in place of its configured canary and
   * shadow (every replica reads the same table); a changed split starts its round-robin afresh.
   */
  async #applyTraffic(): Promise<void> {
    let settings: TrafficSetting[];
    try {
      settings = await this.#parts.registry.store.listTraffic();
    } catch (err) {
      this.#log.warn({ err }, 'could not read traffic settings; keeping the current ones');
      return;
    }
    const byModel = new Map(settings.map((t) => [t.model, t]));
    for (const served of this.#served.values()) {
      const t = byModel.get(served.name);
      const config: ModelDeployment = t
        ? { ...served.base, canary: t.canary ?? undefined, shadow: t.shadow ?? undefined }
        : served.base;
      served.traffic = t;
      if (JSON.stringify([config.canary, config.shadow]) === JSON.stringify([served.config.canary, served.config.shadow])) continue;
      served.config = config;
      this.#routers.delete(served.name);
      this.#log.info({ model: served.name, canary: config.canary ?? null, shadow: config.shadow ?? null, by: t?.updatedBy ?? 'ferry.yaml' }, 'traffic setting changed');
    }
  }

  #add(name: string, config: ModelDeployment): Served {
    const served: Served = { name, base: config, config, traffic: undefined, pointers: new Map(), entries: new Map(), draining: new Map(), enabled: true };
    this.#served.set(name, served);
    return served;
  }

  /** Bring pointer targets up to date; reload loaded pointers whose version moved. */
  async #syncPointers(served: Served): Promise<void> {
    const targets = await this.#targets(served);
    for (const [name, version] of targets) {
      let p = served.pointers.get(name);
      if (!p) {
        p = { name, version, entry: undefined, state: 'UNKNOWN', reason: 'not loaded yet', loading: undefined, configured: true, lastUsed: 0 };
        served.pointers.set(name, p);
        if (served.config.load === 'eager' && served.enabled && this.#poll) this.#ensure(served, p).catch(() => undefined);
        continue;
      }
      if (p.version === version) {
        // A reload that failed (the old version still answers) is tried again once the cause may be gone.
        const retry = p.failedAt !== undefined && p.entry !== undefined && !p.loading && performance.now() - p.failedAt >= RELOAD_RETRY_MS;
        if (retry) this.#swap(served, p).catch(() => undefined);
        continue;
      }
      const from = p.version;
      p.version = version;
      if (p.entry || p.loading) {
        // Hot reload: load and warm the new version; the old one serves until the switch.
        this.#log.info({ model: served.name, pointer: name, from, to: version }, 'pointer moved; loading the new version');
        this.#swap(served, p).catch(() => undefined);
      }
    }
    // Aliases deleted in the registry stop being served.
    for (const [name, p] of served.pointers) {
      if (!targets.has(name) && !name.startsWith(':')) {
        served.pointers.delete(name);
        if (p.entry) this.#retire(served, p.entry);
      }
    }
  }

  async #targets(served: Served): Promise<Map<string, number | undefined>> {
    const store = this.#parts.registry.store;
    const out = new Map<string, number | undefined>();
    const aliases = await store.listAliases(served.name);
    const latest = await store.latestVersion(served.name);
    const wanted = served.config.versions ?? ['latest', ...aliases.map((a) => a.alias)];
    for (const w of wanted) {
      if (w === 'latest') out.set('latest', latest?.version);
      else if (/^\d+$/.test(w)) out.set(`:${w}`, Number(w));
      else {
        const a = aliases.find((x) => x.alias === w);
        if (a) out.set(w, a.version);
      }
    }
    // Explicit versions requested earlier stay served (until evicted).
    for (const [name, p] of served.pointers) if (!p.configured && !out.has(name)) out.set(name, p.version);
    return out;
  }

  async #pointer(served: Served, requested: string): Promise<Pointer> {
    const name = pointerName(requested);
    const existing = served.pointers.get(name);
    if (existing) return existing;
    if (/^\d+$/.test(requested)) {
      // An explicit version the configuration allows: served on demand, evicted when idle and least recently used.
      const v = await this.#servable(served, Number(requested));
      const again = served.pointers.get(name);
      if (again) return again;
      this.#evictOnDemand(served);
      const p: Pointer = { name, version: v.version, entry: undefined, state: 'UNKNOWN', reason: 'not loaded yet', loading: undefined, configured: false, lastUsed: performance.now() };
      served.pointers.set(name, p);
      return p;
    }
    // Maybe an alias created since the last poll (at most one extra registry read per 250 ms).
    if (performance.now() - this.#lastRefresh > 250) await this.refresh();
    const fresh = served.pointers.get(name);
    if (fresh) return fresh;
    await this.#parts.registry.resolve(`${served.name}@${requested}`);
    throw ferry('FERRY_E_MODEL_NOT_SERVED', { model: `${served.name}@${requested}`, models: quoteList(this.models) });
  }

  /**
   * A version a request may name explicitly: one a configured pointer serves now, or (when
   * the model's `versions:` does not list pointers) any version that is not archived, or one
   * listed by number in `versions:`.
   */
  async #servable(served: Served, version: number): Promise<ModelVersion> {
    const v = await this.#parts.registry.resolve(`${served.name}:${version}`);
    const targeted = [...served.pointers.values()].some((p) => p.configured && p.version === version);
    if (targeted) return v;
    const listed = served.config.versions?.includes(String(version)) ?? false;
    if (!listed && served.config.versions !== undefined) {
      throw ferry('FERRY_E_MODEL_NOT_SERVED', { model: `${served.name}:${version}`, models: `${quoteList(this.models)} (versions of "${served.name}" served here: ${quoteList(served.config.versions)})` });
    }
    if (!listed && v.archivedAt) throw ferry('FERRY_E_MODEL_NOT_SERVED', { model: `${served.name}:${version}`, models: `${quoteList(this.models)} (version ${version} is archived; list it in the model's versions: to serve it)` });
    return v;
  }

  /** Make room for one more on-demand version: drop the least recently used idle ones past the cap. */
  #evictOnDemand(served: Served): void {
    const cap = this.#config.maxOnDemandVersions;
    const onDemand = [...served.pointers.values()].filter((p) => !p.configured).sort((a, b) => a.lastUsed - b.lastUsed);
    let excess = onDemand.length + 1 - cap;
    for (const p of onDemand) {
      if (excess <= 0) break;
      const busy = (p.entry?.leases ?? 0) > 0 || p.loading !== undefined;
      if (busy) continue;
      served.pointers.delete(p.name);
      if (p.entry) this.#retire(served, p.entry);
      this.#log.info({ model: served.name, pointer: p.name }, 'on-demand version evicted (least recently used)');
      excess--;
    }
    if (excess > 0) throw ferry('FERRY_E_MODEL_NOT_READY', { model: served.name, state: 'UNAVAILABLE', reason: `: ${cap} explicitly requested versions are busy (max_on_demand_versions)` });
  }

  /** The pointer's entry, loading it first if needed. */
  async #ensure(served: Served, p: Pointer): Promise<Entry> {
    if (p.entry && !p.loading) return p.entry;
    if (p.loading) return p.entry ?? this.#coldWait(served, p, p.loading);
    return this.#coldWait(served, p, this.#swap(served, p));
  }

  /** A version with nothing loaded yet: wait at most `coldStartWaitMs` for it (the load goes on). */
  #coldWait(served: Served, p: Pointer, loading: Promise<Entry>): Promise<Entry> {
    const waitMs = this.#config.coldStartWaitMs;
    if (waitMs === undefined || p.entry) return loading;
    return new Promise<Entry>((resolve, reject) => {
      const timer = setTimeout(() => reject(ferry('FERRY_E_MODEL_NOT_READY', { model: served.name, state: 'LOADING', reason: `: version ${p.version ?? '?'} is still loading after ${waitMs} ms (cold_start_wait_ms)` })), waitMs);
      loading.then((e) => { clearTimeout(timer); resolve(e); }, (err: unknown) => { clearTimeout(timer); reject(err instanceof Error ? err : new Error(String(err))); });
    });
  }

  /** Load the pointer's target version, warm it, then make it current; the old entry retires. */
  #swap(served: Served, p: Pointer): Promise<Entry> {
    const version = p.version;
    const loading = (async () => {
      if (version === undefined) throw ferry('FERRY_E_NO_LIVE_VERSION', { model: served.name });
      if (!p.entry) p.state = 'LOADING';
      const entry = await this.#entry(served, version);
      if (p.version !== version) return entry; // moved again meanwhile; a newer swap is running
      const old = p.entry;
      p.entry = entry;
      p.state = 'READY';
      p.reason = '';
      p.failedAt = undefined;
      if (old && old !== entry) this.#retire(served, old);
      return entry;
    })();
    p.loading = loading;
    loading.then(
      () => { if (p.loading === loading) p.loading = undefined; },
      (err: unknown) => {
        if (p.loading === loading) p.loading = undefined;
        // A failed load keeps the old version serving.
        p.failedAt = performance.now();
        p.state = p.entry ? 'READY' : 'UNAVAILABLE';
        p.reason = `loading version ${version ?? '?'} failed: ${err instanceof Error ? err.message : String(err)}`;
        this.#log.warn({ model: served.name, pointer: p.name, version, err }, 'load failed');
      },
    );
    return loading;
  }

  /** The entry of a version, loading it once however many pointers ask at the same time. */
  #entry(served: Served, version: number): Promise<Entry> {
    let entry = served.entries.get(version);
    const draining = served.draining.get(version);
    if (!entry && draining) {
      // Still open for the requests it serves: take it back. A second load would get the same
      // runtime from the loader, which the draining copy would then close under the new one.
      served.draining.delete(version);
      draining.retired = false;
      entry = Promise.resolve(draining);
      served.entries.set(version, entry);
    }
    if (!entry) {
      entry = this.#loadEntry(served, version);
      served.entries.set(version, entry);
      entry.catch(() => { if (served.entries.get(version) === entry) served.entries.delete(version); });
    }
    return entry;
  }

  async #loadEntry(served: Served, version: number): Promise<Entry> {
    const v = await this.#parts.registry.resolve(`${served.name}:${version}`);
    const loaded = await this.#parts.loader.loadVersion(v);
    if (served.config.warmup) await this.#warm(loaded);
    this.#onLoadedChange(1);
    this.#log.info({ model: served.name, version }, 'version loaded');
    return { loaded, leases: 0, retired: false };
  }

  /**
   * One request of zeros (batch 1, free axes 1) so the first real request is not slow. Skipped
   * for inputs past WARMUP_MAX_ELEMENTS: a declared shape must not make every replica allocate
   * at start what no request has asked for.
   */
  async #warm(loaded: LoadedModel): Promise<void> {
    const tensors: Record<string, Tensor> = {};
    let total = 0;
    for (const spec of loaded.version.signature.inputs) {
      const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
      const n = shape.reduce((a, b) => a * b, 1);
      total += n;
      if (total > WARMUP_MAX_ELEMENTS) {
        this.#log.warn({ model: loaded.version.model, version: loaded.version.version, elements: total }, 'warm-up skipped: the inputs of one row are too large to warm with zeros');
        return;
      }
      tensors[spec.name] = { dtype: spec.dtype, shape, data: allocate(spec.dtype, n) };
    }
    try {
      await this.#parts.scorer.tensors(loaded, tensors, { direct: true });
    } catch (err) {
      // A model may refuse zeros and empty text as input (a category encoder that knows only its
      // training categories): it ran and answered, so it is loaded; its first request warms it.
      if (err instanceof FerryError && err.httpStatus >= 400 && err.httpStatus < 500) {
        this.#log.info({ model: loaded.version.model, version: loaded.version.version, code: err.code }, 'warm-up input refused by the model (zeros and empty text); it is loaded, and its first request warms it');
        return;
      }
      await this.#parts.loader.unload(loaded.version).catch(() => undefined);
      throw err instanceof FerryError ? err : ferry('FERRY_E_PREDICTION_FAILED', { format: loaded.runtime.format, model: `${loaded.version.model}:${loaded.version.version}`, detail: `warm-up failed: ${String(err)}` });
    }
  }

  #retire(served: Served, entry: Entry): void {
    if ([...served.pointers.values()].some((q) => q.entry === entry)) return;
    entry.retired = true;
    const version = entry.loaded.version.version;
    served.entries.delete(version);
    if (entry.leases > 0) served.draining.set(version, entry);
    this.#maybeClose(served, entry);
  }

  #maybeClose(served: Served, entry: Entry): void {
    if (!entry.retired || entry.leases !== 0) return;
    entry.leases = -1; // closed; never again
    if (served.draining.get(entry.loaded.version.version) === entry) served.draining.delete(entry.loaded.version.version);
    this.#parts.scorer.release(entry.loaded);
    this.#parts.loader.unload(entry.loaded.version).catch(() => undefined);
    this.#onLoadedChange(-1);
  }

  #get(model: string): Served {
    const served = this.#served.get(model);
    if (!served) throw ferry('FERRY_E_MODEL_NOT_SERVED', { model, models: quoteList(this.models) });
    return served;
  }
}

/** Elements of one warm-up request above which warm-up is skipped (16 Mi: 64 MiB of float32). */
const WARMUP_MAX_ELEMENTS = 16 * 1024 * 1024;

function pointerName(requested: string): string {
  return /^\d+$/.test(requested) ? `:${requested}` : requested;
}
