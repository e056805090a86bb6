import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ferry } from '../../core/errors.js';
import type { ServingContext } from '../context.js';

/** Alias moves listed with a model at most (newest first). */
const MAX_HISTORY = 200;

interface PageQuery { search?: string; alias?: string; offset?: string; limit?: string; archived?: string }

/**
 * The registry as JSON, a page at a time (the dashboard and scripts read it; predict scope):
 * `GET /ferry/v1/models?search=&alias=&offset=&limit=` and `GET /ferry/v1/models/{model}`
 * (its versions page, aliases, alias history and how this server serves it).
 */
export function modelRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get('/ferry/v1/models', async (req: FastifyRequest<{ Querystring: PageQuery }>) => {
    ctx.auth.check(req, 'predict');
    const q = req.query;
    const page = await ctx.app.registry.store.modelPage({ search: q.search || undefined, alias: q.alias || undefined, offset: int(q.offset, 'offset'), limit: int(q.limit, 'limit') });
    const served = new Set(ctx.deployments.models);
    const rates = (await ctx.group.traffic(ctx.traffic, 60)).rates(60);
    return {
      ...page,
      items: page.items.map((m) => ({
        ...m,
        serving: served.has(m.name) ? (ctx.deployments.isReady(m.name) ? 'ready' : 'loading') : 'not served',
        requestsPerSecond: rates.get(m.name) ?? 0,
      })),
    };
  });

  app.get('/ferry/v1/models/:model', async (req: FastifyRequest<{ Params: { model: string }; Querystring: PageQuery }>) => {
    ctx.auth.check(req, 'predict');
    const name = req.params.model;
    const store = ctx.app.registry.store;
    const model = await store.getModel(name);
    if (!model) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: name });
    const q = req.query;
    const [versions, aliases, history] = await Promise.all([
      store.versionPage(name, { offset: int(q.offset, 'offset'), limit: int(q.limit, 'limit'), includeArchived: q.archived === 'true' }),
      store.listAliases(name),
      store.aliasHistory(name, undefined, MAX_HISTORY),
    ]);
    const served = ctx.deployments.models.includes(name);
    const deployment = served ? ctx.deployments.config(name) : undefined;
    return {
      model,
      versions,
      aliases,
      history,
      serving: deployment
        ? { state: ctx.deployments.isReady(name) ? 'ready' : 'loading', route: deployment.route, canary: deployment.canary ?? null, shadow: deployment.shadow ?? null, batching: deployment.batching !== undefined, log: deployment.log?.sample ?? null }
        : { state: 'not served', route: null, canary: null, shadow: null, batching: false, log: null },
    };
  });
}

function int(text: string | undefined, name: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw ferry('FERRY_E_PARAMETER_INVALID', { name, detail: 'it must be a whole number ≥ 0' });
  return n;
}
