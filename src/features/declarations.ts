import { dirname, isAbsolute, resolve } from 'node:path';
import { isDuration, parseDuration } from '../core/duration.js';
import { ferry } from '../core/errors.js';
import type { EntityKeyType } from './entity-key.js';
import { parseExpression, type Expression } from './expression.js';

/** Something that has features: a customer, a product. `key` is the column that identifies it. */
export interface EntityDecl {
  readonly name: string;
  readonly key: string;
  /** How key values compare (`42` = `42.0` = `"42"` unless `string`); undeclared = `auto`. */
  readonly type: EntityKeyType;
}

/**
 * Where a view's rows come from: files (a path or glob: Parquet, CSV, JSON Lines), or a
 * PostgreSQL table or query (`postgres` is a connection URL, as for `ferry batch run --input`).
 */
export type ViewSource =
  | { readonly path: string }
  | { readonly postgres: string; readonly table: string; readonly query?: undefined }
  | { readonly postgres: string; readonly query: string; readonly table?: undefined };

/** A table of feature values over time for one entity. */
export interface ViewDecl {
  readonly name: string;
  readonly entity: string;
  readonly source: ViewSource;
  /** The event-time column. */
  readonly timestamp: string;
  readonly features: readonly string[];
  /** How long a value stays valid after its event time (ms); undefined = for ever. */
  readonly ttlMs: number | undefined;
  readonly ttl: string | undefined;
  /**
   * How late a row may arrive (ms): each incremental materialisation re-reads event times down to
   * `watermark - lateness`, so rows that arrived after the watermark passed them are picked up. 0 = none.
   */
  readonly latenessMs: number;
  readonly lateness: string | undefined;
}

/** What to do when a feature has no value (unknown entity, nothing within ttl). */
export type MissingPolicy = { readonly kind: 'null' } | { readonly kind: 'reject' } | { readonly kind: 'default'; readonly value: number | string | boolean };

/** A declared request-time transform, written as `name: "expression"`. */
export interface TransformDecl {
  readonly name: string;
  readonly expression: string;
}

export interface ServiceDecl {
  readonly name: string;
  /** As written: `age` or `customer_stats.age`. */
  readonly features: readonly string[];
  readonly transforms: readonly TransformDecl[];
  /** Per output name (a feature or a transform); anything not listed is `null`. */
  readonly missing: Readonly<Record<string, MissingPolicy>>;
}

/** A `features.yaml` document, validated. */
export interface FeatureDeclarations {
  readonly entities: readonly EntityDecl[];
  readonly views: readonly ViewDecl[];
  readonly services: readonly ServiceDecl[];
}

/** One feature of a service, resolved to its view. */
export interface ServiceFeature {
  readonly view: ViewDecl;
  readonly entity: EntityDecl;
  readonly feature: string;
  /** The column it fills: the feature's own name, or `view.feature` where two views share it. */
  readonly column: string;
  readonly missing: MissingPolicy;
}

/** A service resolved against its declarations: what a lookup needs. */
export interface ResolvedService {
  readonly name: string;
  readonly features: readonly ServiceFeature[];
  readonly transforms: readonly { readonly column: string; readonly expression: Expression; readonly missing: MissingPolicy }[];
  /** The entities it is looked up by (their key columns come with each request row). */
  readonly entities: readonly EntityDecl[];
  /** Views used, each once. */
  readonly views: readonly ViewDecl[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function invalid(detail: string): never {
  throw ferry('FERRY_E_FEATURES_INVALID', { detail });
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(`${where} must be a mapping`);
  return value as Record<string, unknown>;
}

function list(value: unknown, where: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid(`${where} must be a list`);
  return value;
}

function name(value: unknown, where: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) invalid(`${where} must be a name of letters, digits and "_" (got ${JSON.stringify(value)})`);
  return value;
}

function unique<T extends { name: string }>(items: readonly T[], what: string): void {
  const seen = new Set<string>();
  for (const i of items) {
    if (seen.has(i.name)) invalid(`${what} "${i.name}" is declared twice`);
    seen.add(i.name);
  }
}

/**
 * The declarations of a parsed `features.yaml` document (or of a `ferry.yaml` with a `features:`
 * section); relative source paths are resolved against `file`'s folder. Every problem names
 * where it is. (declarations-file.ts reads the YAML text.)
 */
export function declarationsOfDocument(doc: unknown, file: string): FeatureDeclarations {
  let top = record(doc ?? {}, file);
  if (top.features !== undefined && top.views === undefined) top = record(top.features, `${file}: features`);
  return validateDeclarations(top, dirname(resolve(file)));
}

/** A view's `source:`: `{path}` (relative to the declarations file), or `{postgres, table | query}`. */
function viewSource(source: Record<string, unknown>, where: string, base: string): ViewSource {
  const pgUrl = source.postgres ?? (typeof source.path === 'string' && /^postgres(ql)?:\/\//.test(source.path) ? source.path : undefined);
  if (pgUrl !== undefined) {
    if (typeof pgUrl !== 'string' || !/^postgres(ql)?:\/\//.test(pgUrl)) invalid(`${where}: source.postgres must be a postgres:// URL`);
    const url = new URL(pgUrl);
    const table = source.table ?? url.searchParams.get('table') ?? undefined;
    url.searchParams.delete('table');
    const query = source.query;
    if ((table === undefined) === (query === undefined)) invalid(`${where}: a PostgreSQL source takes a table or a query (one of them)`);
    if (query !== undefined) {
      if (typeof query !== 'string' || query.trim() === '') invalid(`${where}: source.query must be SQL text`);
      return { postgres: url.toString(), query };
    }
    if (typeof table !== 'string' || !/^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) invalid(`${where}: source.table must be a name or schema.name`);
    return { postgres: url.toString(), table };
  }
  if (typeof source.path !== 'string' || source.path === '') invalid(`${where}: source.path (a Parquet, CSV or JSON Lines file or glob) or source.postgres (with table or query) is required`);
  return { path: isAbsolute(source.path) || /^[a-z]+:\/\//.test(source.path) ? source.path : resolve(base, source.path) };
}

/** Validate a parsed document (also what is read back from the registry, with `base` unused there). */
export function validateDeclarations(top: Record<string, unknown>, base: string): FeatureDeclarations {
  const entities = list(top.entities, 'entities').map((e, i): EntityDecl => {
    const r = record(e, `entities[${i}]`);
    const type = r.type === undefined || r.type === null ? 'auto' : r.type;
    if (type !== 'auto' && type !== 'integer' && type !== 'string') invalid(`entities[${i}].type must be integer, string or auto (got ${JSON.stringify(r.type)})`);
    return { name: name(r.name, `entities[${i}].name`), key: name(r.key, `entities[${i}].key`), type };
  });
  unique(entities, 'entity');
  const views = list(top.views, 'views').map((v, i): ViewDecl => {
    const r = record(v, `views[${i}]`);
    const viewName = name(r.name, `views[${i}].name`);
    const where = `view "${viewName}"`;
    const entity = typeof r.entity === 'string' ? r.entity : invalid(`${where}: entity is required`);
    if (!entities.some((e) => e.name === entity)) invalid(`${where}: entity "${entity}" is not declared (entities: ${entities.map((e) => e.name).join(', ') || 'none'})`);
    const source = viewSource(record(r.source, `${where}: source`), where, base);
    const features = list(r.features, `${where}: features`).map((f, j) => name(f, `${where}: features[${j}]`));
    if (features.length === 0) invalid(`${where}: features must list at least one column`);
    const ttl = typeof r.ttl === 'string' || typeof r.ttl === 'number' ? String(r.ttl) : r.ttl === undefined || r.ttl === null ? undefined : invalid(`${where}: ttl must be a duration such as 30d`);
    if (ttl !== undefined && !isDuration(ttl)) invalid(`${where}: ttl "${ttl}" must be a number with a unit: ms, s, m, h, d or w (e.g. 30d)`);
    const lateness = typeof r.lateness === 'string' || typeof r.lateness === 'number' ? String(r.lateness) : r.lateness === undefined || r.lateness === null ? undefined : invalid(`${where}: lateness must be a duration such as 2h`);
    if (lateness !== undefined && !isDuration(lateness)) invalid(`${where}: lateness "${lateness}" must be a number with a unit: ms, s, m, h, d or w (e.g. 2h)`);
    return {
      name: viewName,
      entity,
      source,
      timestamp: name(r.timestamp, `${where}: timestamp`),
      features,
      ttl,
      ttlMs: ttl === undefined ? undefined : parseDuration(ttl, 'ttl'),
      lateness,
      latenessMs: lateness === undefined ? 0 : parseDuration(lateness, 'lateness'),
    };
  });
  unique(views, 'view');
  const services = list(top.services, 'services').map((s, i): ServiceDecl => {
    const r = record(s, `services[${i}]`);
    const serviceName = name(r.name, `services[${i}].name`);
    const transforms = Object.entries(record(r.transforms ?? {}, `service "${serviceName}": transforms`)).map(([k, v]): TransformDecl => {
      if (typeof v !== 'string') invalid(`service "${serviceName}": transform "${k}" must be an expression in quotes`);
      return { name: name(k, `service "${serviceName}": transform name`), expression: v };
    });
    const missing: Record<string, MissingPolicy> = {};
    for (const [k, v] of Object.entries(record(r.missing ?? {}, `service "${serviceName}": missing`))) {
      missing[k] = v === null ? { kind: 'null' } : v === 'reject' ? { kind: 'reject' } : typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? { kind: 'default', value: v } : invalid(`service "${serviceName}": missing.${k} must be null, reject or a default value`);
    }
    const features = list(r.features, `service "${serviceName}": features`).map((f) => (typeof f === 'string' ? f : invalid(`service "${serviceName}": features must be names`)));
    return { name: serviceName, features, transforms, missing };
  });
  unique(services, 'service');
  const declarations = { entities, views, services };
  // Resolve every service now, so a bad reference fails at apply, not at the first request.
  for (const s of services) resolveService(declarations, s.name);
  return declarations;
}

/** A declared service with its features found in their views, names settled and transforms parsed. */
export function resolveService(declarations: FeatureDeclarations, service: string): ResolvedService {
  const decl = declarations.services.find((s) => s.name === service);
  if (!decl) throw ferry('FERRY_E_FEATURE_SERVICE_NOT_FOUND', { service, services: declarations.services.map((s) => `"${s.name}"`).join(', ') || '(none)' });
  const where = `service "${service}"`;
  const found = decl.features.map((ref) => {
    const dot = ref.indexOf('.');
    const viewName = dot >= 0 ? ref.slice(0, dot) : undefined;
    const feature = dot >= 0 ? ref.slice(dot + 1) : ref;
    const candidates = declarations.views.filter((v) => (viewName === undefined || v.name === viewName) && v.features.includes(feature));
    if (candidates.length === 0) invalid(`${where}: no view declares feature "${ref}"`);
    if (candidates.length > 1) invalid(`${where}: "${ref}" is in views ${candidates.map((v) => v.name).join(' and ')}; write <view>.${feature}`);
    const view = candidates[0] as ViewDecl;
    const entity = declarations.entities.find((e) => e.name === view.entity) as EntityDecl;
    return { view, entity, feature };
  });
  const counts = new Map<string, number>();
  for (const f of found) counts.set(f.feature, (counts.get(f.feature) ?? 0) + 1);
  const features = found.map((f): ServiceFeature => {
    const column = (counts.get(f.feature) ?? 0) > 1 ? `${f.view.name}.${f.feature}` : f.feature;
    return { ...f, column, missing: decl.missing[column] ?? { kind: 'null' } };
  });
  const columns = new Set(features.map((f) => f.column));
  if (columns.size !== features.length) invalid(`${where}: a feature is listed twice`);
  const transforms = decl.transforms.map((t) => {
    if (columns.has(t.name)) invalid(`${where}: transform "${t.name}" has the name of a feature`);
    columns.add(t.name);
    return { column: t.name, expression: parseExpression(t.expression), missing: decl.missing[t.name] ?? { kind: 'null' as const } };
  });
  for (const k of Object.keys(decl.missing)) if (!columns.has(k)) invalid(`${where}: missing.${k} names no feature or transform of the service`);
  const views = [...new Set(features.map((f) => f.view))];
  const entities = [...new Set(features.map((f) => f.entity))];
  return { name: service, features, transforms, entities, views };
}

/** The declarations as stored (JSON): what `validateDeclarations` reads back. */
export function declarationsDocument(d: FeatureDeclarations): Record<string, unknown> {
  return {
    entities: d.entities.map((e) => ({ name: e.name, key: e.key, ...(e.type !== 'auto' ? { type: e.type } : {}) })),
    views: d.views.map((v) => ({ name: v.name, entity: v.entity, source: v.source, timestamp: v.timestamp, features: v.features, ...(v.ttl ? { ttl: v.ttl } : {}), ...(v.lateness ? { lateness: v.lateness } : {}) })),
    services: d.services.map((s) => ({
      name: s.name,
      features: s.features,
      ...(s.transforms.length ? { transforms: Object.fromEntries(s.transforms.map((t) => [t.name, t.expression])) } : {}),
      ...(Object.keys(s.missing).length ? { missing: Object.fromEntries(Object.entries(s.missing).map(([k, p]) => [k, p.kind === 'null' ? null : p.kind === 'reject' ? 'reject' : p.value])) } : {}),
    })),
  };
}
