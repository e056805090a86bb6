import { LRUCache } from 'lru-cache';
import { ferry, quoteList, type FerryError } from '../core/errors.js';
import { ColumnFrame, numberColumn, type Cell, type Frame, type FrameColumn } from '../core/frame.js';
import { resolveService, type MissingPolicy, type ResolvedService } from './declarations.js';
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

/** Cells as a Frame column: numbers (and nulls) typed, anything else as cells. */
function toColumn(cells: readonly Cell[]): FrameColumn {
  const values = new Float64Array(cells.length);
  let valid: Uint8Array | undefined;
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    if (typeof c === 'number') values[i] = c;
    else if (c === null || c === undefined) {
      valid ??= new Uint8Array(cells.length).fill(1);
      valid[i] = 0;
    } else return { kind: 'cells', values: cells };
  }
  return numberColumn(values, valid);
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
    this.#cache = size > 0 ? new LRUCache({ max: size, ttl: options.cacheTtlMs ?? 5_000, ttlAutopurge: false }) : undefined;
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
    const n = frame.length;
    const keyColumns = new Map<string, readonly (string | undefined)[]>();
    for (const entity of service.entities) {
      const cells = frame.column(entity.key);
      if (!cells) throw ferry('FERRY_E_ENTITY_KEY_MISSING', { service: service.name, key: entity.key, present: quoteList(frame.columns) });
      keyColumns.set(entity.name, cells.map((c) => entityKeyText(c, entity.type)));
    }
    const now = this.#now();
    const present = new Set(frame.columns);
    const rowsByView = new Map<string, (StoredRow | undefined)[]>();
    // One store read per entity, covering all its views the request does not fill itself.
    const readEntity = async (entity: (typeof service.entities)[number]): Promise<void> => {
      const views = service.views.filter((view) => view.entity === entity.name && service.features.some((sf) => sf.view === view && !present.has(sf.column)));
      if (views.length === 0) return;
      const got = await this.#read(views.map((v) => ({ name: v.name, entity: v.entity })), keyColumns.get(entity.name) ?? []);
      views.forEach((view, v) => rowsByView.set(view.name, got[v] ?? []));
    };
    if (service.entities.length === 1) await readEntity(service.entities[0]!);
    else await Promise.all(service.entities.map(readEntity));
    const rejects = new Map<number, FerryError>();
    const missing: Record<string, number> = {};
    const added = new Map<string, Cell[]>();
    const apply = (column: string, policy: MissingPolicy, row: number, describe: () => { state: string; entity: string; view: string }): Cell => {
      missing[column] = (missing[column] ?? 0) + 1;
      if (policy.kind === 'default') return policy.value;
      if (policy.kind === 'reject' && !rejects.has(row)) rejects.set(row, ferry('FERRY_E_FEATURE_MISSING', { feature: column, service: service.name, ...describe() }));
      return null;
    };
    for (const f of service.features) {
      if (present.has(f.column)) continue;
      const rows = rowsByView.get(f.view.name) ?? [];
      const keys = keyColumns.get(f.entity.name) ?? [];
      const ttl = f.view.ttlMs;
      const cells = new Array<Cell>(n);
      for (let i = 0; i < n; i++) {
        const row = rows[i];
        const value = row?.values[f.feature];
        const stale = row !== undefined && ttl !== undefined && now - row.eventTime > ttl;
        if (row === undefined || stale || value === null || value === undefined) {
          cells[i] = apply(f.column, f.missing, i, () => ({ state: row === undefined ? 'missing' : stale ? `stale (older than the view's ttl ${f.view.ttl ?? ''})` : 'null', entity: `${f.entity.key}=${keys[i] ?? 'null'}`, view: f.view.name }));
        } else {
          cells[i] = value;
        }
      }
      added.set(f.column, cells);
    }
    for (const t of service.transforms) {
      if (present.has(t.column)) continue;
      const sources = t.expression.names.map((name) => added.get(name) ?? frame.column(name));
      const cells = new Array<Cell>(n);
      for (let i = 0; i < n; i++) {
        const v = evaluate(t.expression, (name) => {
          const col = sources[t.expression.names.indexOf(name)];
          const c = col?.[i];
          return c === undefined || Array.isArray(c) || typeof c === 'bigint' ? (typeof c === 'bigint' ? Number(c) : null) : (c as Value);
        });
        cells[i] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
        if (cells[i] === null) {
          const keyCol = service.entities[0];
          cells[i] = apply(t.column, t.missing, i, () => ({ state: 'null', entity: `${keyCol?.key ?? 'key'}=${keyColumns.get(keyCol?.name ?? '')?.[i] ?? 'null'}`, view: service.views[0]?.name ?? '' }));
        }
      }
      added.set(t.column, cells);
    }
    let stats = this.#stats.get(service.name);
    if (!stats) this.#stats.set(service.name, stats = { rows: 0, missing: new Map([...service.features.map((f) => f.column), ...service.transforms.map((t) => t.column)].map((c) => [c, 0])) });
    stats.rows += n;
    for (const [column, count] of Object.entries(missing)) stats.missing.set(column, (stats.missing.get(column) ?? 0) + count);
    const data = new Map<string, FrameColumn>();
    for (const name of frame.columns) data.set(name, frame.vector(name) as FrameColumn);
    for (const [name, cells] of added) data.set(name, toColumn(cells));
    return {
      frame: new ColumnFrame(data, n),
      rejects: [...rejects].sort((a, b) => a[0] - b[0]).map(([row, error]) => ({ row, error })),
      keys: service.entities.map((e) => e.key),
      missing,
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
