import { LRUCache } from 'lru-cache';
import { ferry, quoteList, type FerryError } from '../core/errors.js';
import { cellsOf, ColumnFrame, numberColumn, type Cell, type Frame, type FrameColumn } from '../core/frame.js';
import { resolveService, type MissingPolicy, type ResolvedService, type ViewDecl } from './declarations.js';
import { evaluate, type Value } from './expression.js';
import type { FeatureRegistry } from './feature-registry.js';
import { entityKeyText } from './entity-key.js';
import type { OnlineStore, StoredRow, ViewRef } from './online-store.js';

export interface LookupOptions {
  /** Entries (view, entity) kept in the in-process cache; 0 = no cache. */
  readonly cacheSize?: number | undefined;
  /** How long a cached value is used before the store is asked again (ms). */
  readonly cacheTtlMs?: number | undefined;
  /** How long the declarations in force are kept before asking the registry again (ms). */
  readonly declarationsTtlMs?: number | undefined;
  /** The clock (tests). */
  readonly now?: (() => number) | undefined;
}

/** A feature row refused by its missing-value policy. */
export interface LookupReject {
  readonly row: number;
  readonly error: FerryError;
}

/** A Frame with the service's columns filled, and the rows refused by a `reject` policy. */
export interface FilledFrame {
  readonly frame: Frame;
  readonly rejects: readonly LookupReject[];
  /** The entity key columns (not model inputs). */
  readonly keys: readonly string[];
  /** Per feature column: how many rows had no value (missing or stale) before the policy. */
  readonly missing: Readonly<Record<string, number>>;
}

/** A missing value in the cache (so unknown entities are not asked for on every request). */
const ABSENT = Symbol('absent');

/**
 * Builds one Frame column a value at a time: numbers (and nulls) into a Float64Array with a
 * validity mask; the first value of another kind turns the column into cells.
 */
class ColumnWriter {
  readonly #values: Float64Array;
  #valid: Uint8Array | undefined;
  #cells: Cell[] | undefined;

  constructor(length: number) {
    this.#values = new Float64Array(length);
  }

  set(row: number, value: Cell): void {
    if (this.#cells) this.#cells[row] = value;
    else if (typeof value === 'number') this.#values[row] = value;
    else if (value === null) (this.#valid ??= new Uint8Array(this.#values.length).fill(1))[row] = 0;
    else {
      const cells = [...cellsOf(numberColumn(this.#values, this.#valid))];
      cells[row] = value;
      this.#cells = cells;
    }
  }

  column(): FrameColumn {
    return this.#cells ? { kind: 'cells', values: this.#cells } : numberColumn(this.#values, this.#valid);
  }
}

/** One store read: an entity and the views of it a service uses. */
interface EntityRead {
  readonly views: readonly ViewDecl[];
  readonly refs: readonly ViewRef[];
}

/** What `fill` derives from a resolved service once, instead of on every request. */
interface FillPlan {
  /** Per entity of the service (same order). */
  readonly reads: readonly EntityRead[];
  /** Per feature: the index of its entity. */
  readonly entityIndex: readonly number[];
  /** Feature columns, then transform columns (the slots of the missing counts). */
  readonly columns: readonly string[];
  /** The entity key columns. */
  readonly keys: readonly string[];
}

const plans = new WeakMap<ResolvedService, FillPlan>();

function fillPlan(service: ResolvedService): FillPlan {
  let plan = plans.get(service);
  if (!plan) {
    const reads = service.entities.map((entity): EntityRead => {
      const views = service.views.filter((view) => view.entity === entity.name && service.features.some((sf) => sf.view === view));
      return { views, refs: views.map((v) => ({ name: v.name, entity: v.entity })) };
    });
    plan = {
      reads,
      entityIndex: service.features.map((f) => service.entities.findIndex((e) => e.name === f.entity.name)),
      columns: [...service.features.map((f) => f.column), ...service.transforms.map((t) => t.column)],
      keys: service.entities.map((e) => e.key),
    };
    plans.set(service, plan);
  }
  return plan;
}

/**
 * Feature lookups for services: entity keys in, feature columns out. Values come from the
 * online store through an in-process LRU cache with a TTL; a value older than its view's ttl
 * is stale and, like a missing one, follows the feature's policy (null, a default, or reject);
 * request-time transforms run last over features and request columns.
 */
export class FeatureLookups {
  readonly #registry: FeatureRegistry;
  readonly #store: OnlineStore;
  readonly #cache: LRUCache<string, StoredRow | typeof ABSENT> | undefined;
  readonly #now: () => number;
  readonly #declarationsTtlMs: number;
  #services: { at: number; version: number; byName: Map<string, ResolvedService> } | undefined;
  readonly #stats = new Map<string, { rows: number; missing: Map<string, number> }>();

  constructor(registry: FeatureRegistry, store: OnlineStore, options: LookupOptions = {}) {
    this.#registry = registry;
    this.#store = store;
    this.#now = options.now ?? Date.now;
    this.#declarationsTtlMs = options.declarationsTtlMs ?? 30_000;
    const size = options.cacheSize ?? 100_000;
    this.#cache = size > 0 ? new LRUCache({ max: size, ttl: options.cacheTtlMs ?? 5_000, ttlAutopurge: false, ttlResolution: 10 }) : undefined;
  }

  get store(): OnlineStore {
    return this.#store;
  }

  /** A declared service, resolved (declarations are re-read at most every `declarationsTtlMs`). */
  async service(name: string): Promise<ResolvedService> {
    return this.#cachedService(name) ?? this.#loadService(name);
  }

  /** The resolved service while the declarations are fresh (no await on the serving path). */
  #cachedService(name: string): ResolvedService | undefined {
    const services = this.#services;
    if (!services || this.#now() - services.at > this.#declarationsTtlMs) return undefined;
    return services.byName.get(name);
  }

  async #loadService(name: string): Promise<ResolvedService> {
    const now = this.#now();
    if (!this.#services || now - this.#services.at > this.#declarationsTtlMs) {
      const applied = await this.#registry.require();
      if (this.#services?.version !== applied.version) this.#services = { at: now, version: applied.version, byName: new Map() };
      else this.#services = { ...this.#services, at: now };
      this.#services.byName.clear();
      for (const s of applied.declarations.services) this.#services.byName.set(s.name, resolveService(applied.declarations, s.name));
    }
    const found = this.#services.byName.get(name);
    if (!found) throw ferry('FERRY_E_FEATURE_SERVICE_NOT_FOUND', { service: name, services: [...this.#services.byName.keys()].map((s) => `"${s}"`).join(', ') || '(none)' });
    return found;
  }

  /** Rows looked up per service since start, and per feature column how many had no value (missing or stale): the null rate. */
  stats(): { service: string; rows: number; missing: Record<string, number> }[] {
    return [...this.#stats].map(([service, s]) => ({ service, rows: s.rows, missing: Object.fromEntries(s.missing) }));
  }

  /**
   * Per declared view: the newest event time in the online store and the watermark (ms), and
   * the freshness — the age of the newest value in seconds (null before the first materialisation).
   */
  async freshness(): Promise<{ view: string; newest: number | null; watermark: number | null; seconds: number | null; ttl: string | null }[]> {
    const { declarations } = await this.#registry.require();
    return Promise.all(declarations.views.map(async (v) => {
      const p = await this.#store.progress(v.name);
      const newest = p?.newest ?? null;
      return { view: v.name, newest, watermark: p?.watermark ?? null, seconds: newest === null ? null : (this.#now() - newest) / 1000, ttl: v.ttl ?? null };
    }));
  }

  /** Forget cached values (after a materialisation in this process). */
  clearCache(): void {
    this.#cache?.clear();
  }

  /**
   * Rows of the store for these keys in several views of one entity, through the cache: a key
   * is asked for (all its views in one store read) unless every view of it is cached.
   */
  async #read(views: readonly ViewRef[], keys: readonly (string | undefined)[]): Promise<(StoredRow | undefined)[][]> {
    const out = views.map(() => new Array<StoredRow | undefined>(keys.length));
    const ask: string[] = [];
    const askAt: number[] = [];
    const cache = this.#cache;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k === undefined) continue;
      let all = cache !== undefined;
      for (let v = 0; v < views.length && all; v++) {
        const hit = cache?.get(`${(views[v] as ViewRef).name}\u0000${k}`);
        if (hit === undefined) all = false;
        else (out[v] as (StoredRow | undefined)[])[i] = hit === ABSENT ? undefined : hit;
      }
      if (!all) {
        ask.push(k);
        askAt.push(i);
      }
    }
    if (ask.length > 0) {
      const got = await this.#store.read(views, ask);
      views.forEach((view, v) => {
        const rows = got[v] ?? [];
        const target = out[v] as (StoredRow | undefined)[];
        for (let j = 0; j < ask.length; j++) {
          const row = rows[j];
          target[askAt[j] as number] = row;
          cache?.set(`${view.name}\u0000${ask[j] as string}`, row ?? ABSENT);
        }
      });
    }
    return out;
  }

  /**
   * Fill a service's features (and transforms) into a Frame whose rows carry the entity keys.
   * Columns the Frame already has are kept (a request may give a value itself).
   */
  async fill(serviceName: string, frame: Frame): Promise<FilledFrame> {
    const service = this.#cachedService(serviceName) ?? await this.#loadService(serviceName);
    const plan = fillPlan(service);
    const n = frame.length;
    const keyColumns = new Array<readonly (string | undefined)[]>(service.entities.length);
    service.entities.forEach((entity, e) => {
      const column = frame.vector(entity.key);
      if (!column) throw ferry('FERRY_E_ENTITY_KEY_MISSING', { service: service.name, key: entity.key, present: quoteList(frame.columns) });
      const keys = new Array<string | undefined>(n);
      if (column.kind === 'cells') for (let i = 0; i < n; i++) keys[i] = entityKeyText(column.values[i], entity.type);
      else for (let i = 0; i < n; i++) keys[i] = column.valid?.[i] === 0 ? undefined : entityKeyText(column.values[i], entity.type);
      keyColumns[e] = keys;
    });
    // A request may give some features itself: then only the views it leaves to the store are read.
    const given = plan.columns.some((c) => frame.vector(c) !== undefined);
    const present = given ? new Set(frame.columns) : undefined;
    const rowsByView = new Map<string, readonly (StoredRow | undefined)[]>();
    // One store read per entity, covering all its views the request does not fill itself.
    const readEntity = async (e: number): Promise<void> => {
      const read = plan.reads[e] as EntityRead;
      const views = present ? read.views.filter((view) => service.features.some((sf) => sf.view === view && !present.has(sf.column))) : read.views;
      if (views.length === 0) return;
      const got = await this.#read(present ? views.map((v) => ({ name: v.name, entity: v.entity })) : read.refs, keyColumns[e] ?? []);
      views.forEach((view, v) => rowsByView.set(view.name, got[v] ?? []));
    };
    if (plan.reads.length === 1) await readEntity(0);
    else await Promise.all(plan.reads.map((_, e) => readEntity(e)));
    const now = this.#now();
    let rejects: Map<number, FerryError> | undefined;
    const missing = new Array<number>(plan.columns.length).fill(0);
    const added = new Map<string, FrameColumn>();
    const apply = (slot: number, policy: MissingPolicy, row: number, describe: () => { state: string; entity: string; view: string }): Cell => {
      missing[slot] = (missing[slot] as number) + 1;
      if (policy.kind === 'default') return policy.value;
      if (policy.kind === 'reject' && !rejects?.has(row)) (rejects ??= new Map()).set(row, ferry('FERRY_E_FEATURE_MISSING', { feature: plan.columns[slot] as string, service: service.name, ...describe() }));
      return null;
    };
    service.features.forEach((f, slot) => {
      if (present?.has(f.column)) return;
      const rows = rowsByView.get(f.view.name) ?? [];
      const keys = keyColumns[plan.entityIndex[slot] as number] ?? [];
      const ttl = f.view.ttlMs;
      const out = new ColumnWriter(n);
      for (let i = 0; i < n; i++) {
        const row = rows[i];
        const value = row?.values[f.feature];
        const stale = row !== undefined && ttl !== undefined && now - row.eventTime > ttl;
        if (row === undefined || stale || value === null || value === undefined) {
          out.set(i, apply(slot, f.missing, i, () => ({ state: row === undefined ? 'missing' : stale ? `stale (older than the view's ttl ${f.view.ttl ?? ''})` : 'null', entity: `${f.entity.key}=${keys[i] ?? 'null'}`, view: f.view.name })));
        } else {
          out.set(i, value);
        }
      }
      added.set(f.column, out.column());
    });
    const firstKey = keyColumns[0] ?? [];
    service.transforms.forEach((t, k) => {
      if (present?.has(t.column)) return;
      const slot = service.features.length + k;
      const sources = t.expression.names.map((name) => added.get(name) ?? frame.vector(name));
      let i = 0;
      const get = (name: string): Value => {
        const source = sources[t.expression.names.indexOf(name)];
        if (source === undefined) return null;
        if (source.kind === 'number') return source.valid?.[i] === 0 ? null : source.values[i] as number;
        const c = source.values[i];
        return c === undefined || Array.isArray(c) ? null : typeof c === 'bigint' ? Number(c) : c as Value;
      };
      const out = new ColumnWriter(n);
      for (; i < n; i++) {
        const v = evaluate(t.expression, get);
        if (v !== null && (typeof v !== 'number' || Number.isFinite(v))) {
          out.set(i, v);
          continue;
        }
        const row = i;
        out.set(i, apply(slot, t.missing, i, () => ({ state: 'null', entity: `${service.entities[0]?.key ?? 'key'}=${firstKey[row] ?? 'null'}`, view: service.views[0]?.name ?? '' })));
      }
      added.set(t.column, out.column());
    });
    let stats = this.#stats.get(service.name);
    if (!stats) this.#stats.set(service.name, stats = { rows: 0, missing: new Map(plan.columns.map((c) => [c, 0])) });
    stats.rows += n;
    const counted: Record<string, number> = {};
    missing.forEach((count, slot) => {
      if (count === 0) return;
      const column = plan.columns[slot] as string;
      counted[column] = count;
      stats.missing.set(column, (stats.missing.get(column) ?? 0) + count);
    });
    const data = new Map<string, FrameColumn>();
    for (const name of frame.columns) data.set(name, frame.vector(name) as FrameColumn);
    for (const [name, column] of added) data.set(name, column);
    return {
      frame: new ColumnFrame(data, n),
      rejects: rejects ? [...rejects].sort((a, b) => a[0] - b[0]).map(([row, error]) => ({ row, error })) : [],
      keys: plan.keys,
      missing: counted,
    };
  }

  /** Feature values for entities (the `features get` command and the REST route): one record per entity. */
  async get(serviceName: string, entities: readonly Readonly<Record<string, Cell>>[]): Promise<{ rows: Record<string, Cell>[]; rejects: readonly LookupReject[] }> {
    const service = await this.service(serviceName);
    if (entities.length === 0) return { rows: [], rejects: [] };
    const frame = ColumnFrame.fromRows(entities.map((e) => Object.fromEntries(service.entities.filter((x) => x.key in e).map((x) => [x.key, e[x.key] ?? null]))));
    const filled = await this.fill(serviceName, frame);
    const columns = [...service.features.map((f) => f.column), ...service.transforms.map((t) => t.column)];
    const rows = Array.from({ length: filled.frame.length }, (_, i) => {
      const r: Record<string, Cell> = {};
      for (const e of service.entities) r[e.key] = filled.frame.column(e.key)?.[i] ?? null;
      for (const c of columns) r[c] = filled.frame.column(c)?.[i] ?? null;
      return r;
    });
    return { rows, rejects: filled.rejects };
  }
}
