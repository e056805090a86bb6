import { sql, type Kysely } from '../vendor/kysely.js';
import type { RegistryDatabase } from './schema.js';
import { toModel, toVersion } from './rows.js';
import type { ModelPage, ModelPageQuery, ModelSummary, VersionPage, VersionPageQuery } from './types.js';

/** The largest page a caller may ask for: one page is a handful of indexed queries, never a scan of every version. */
export const MAX_PAGE = 200;

function clampPage(q: { offset?: number; limit?: number }): { offset: number; limit: number } {
  const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(q.limit ?? 50)));
  const offset = Math.max(0, Math.floor(q.offset ?? 0));
  return { offset, limit };
}

/**
 * One page of models in name order, each with its version count, newest live version and
 * aliases: four queries whatever the registry holds (the count, the page, and two keyed on the
 * page's names).
 */
export async function modelPage(db: Kysely<RegistryDatabase>, query: ModelPageQuery): Promise<ModelPage> {
  const { offset, limit } = clampPage(query);
  let filtered = db.selectFrom('models');
  if (query.search) {
    const like = `%${query.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    filtered = filtered.where((eb) => eb.or([
      sql<boolean>`lower(name) like ${like} escape '\\'`,
      sql<boolean>`lower(description) like ${like} escape '\\'`,
    ]));
  }
  if (query.alias) {
    const alias = query.alias;
    filtered = filtered.where((eb) => eb.exists(eb.selectFrom('aliases').select('alias').whereRef('aliases.model_name', '=', 'models.name').where('aliases.alias', '=', alias)));
  }
  const { total } = await filtered.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow();
  const rows = await filtered.selectAll().orderBy('name').limit(limit).offset(offset).execute();
  const names = rows.map((r) => r.name);
  if (names.length === 0) return { total: Number(total), offset, limit, items: [] };
  const counts = await db.selectFrom('model_versions')
    .select((eb) => ['model_name', eb.fn.countAll<number | string>().as('n'), eb.fn.max('version').filterWhere('archived_at', 'is', null).as('latest')])
    .where('model_name', 'in', names).groupBy('model_name').execute();
  const latestPairs = counts.filter((c) => c.latest !== null).map((c) => [c.model_name, Number(c.latest)] as const);
  const latest = latestPairs.length === 0 ? [] : await db.selectFrom('model_versions').selectAll()
    .where((eb) => eb.or(latestPairs.map(([m, v]) => eb.and([eb('model_name', '=', m), eb('version', '=', v)])))).execute();
  const aliases = await db.selectFrom('aliases').select(['model_name', 'alias', 'version']).where('model_name', 'in', names).orderBy('alias').execute();
  const items: ModelSummary[] = rows.map((row) => {
    const model = toModel(row);
    const count = counts.find((c) => c.model_name === model.name);
    const l = latest.find((v) => v.model_name === model.name);
    return {
      ...model,
      versions: Number(count?.n ?? 0),
      latest: l ? { version: Number(l.version), format: l.format, createdAt: l.created_at, createdBy: l.created_by, digest: l.digest } : null,
      aliases: aliases.filter((a) => a.model_name === model.name).map((a) => ({ alias: a.alias, version: Number(a.version) })),
    };
  });
  return { total: Number(total), offset, limit, items };
}

/** One page of a model's versions, newest first (archived ones too when asked), with their aliases. */
export async function versionPage(db: Kysely<RegistryDatabase>, model: string, query: VersionPageQuery): Promise<VersionPage> {
  const { offset, limit } = clampPage(query);
  let filtered = db.selectFrom('model_versions').where('model_name', '=', model);
  if (!query.includeArchived) filtered = filtered.where('archived_at', 'is', null);
  const { total } = await filtered.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow();
  const rows = await filtered.selectAll().orderBy('version', 'desc').limit(limit).offset(offset).execute();
  const aliases = await db.selectFrom('aliases').select(['alias', 'version']).where('model_name', '=', model).orderBy('alias').execute();
  return { total: Number(total), offset, limit, items: rows.map((r) => toVersion(r, aliases.filter((a) => Number(a.version) === Number(r.version)).map((a) => a.alias))) };
}
