import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ferry } from '../../core/errors.js';
import { parseWindow } from '../../monitoring/drift-run.js';
import { parseGate, promote } from '../../monitoring/promote.js';
import type { TrafficSplitSpec } from '../../registry/types.js';
import type { ServingContext } from '../context.js';
import { bodyText, parseJsonBody } from './fastify.js';

interface AliasParams { model: string; alias: string }

/**
 * Ferry's own admin endpoints (admin scope): move or roll back an alias, promote, set a
 * model's traffic (canary, shadow) through the server.
 * The move is recorded in the registry like `ferry alias set`, then every process of this
 * server reloads before the answer (other replicas pick it up on their next registry poll).
 */
export function adminRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.put('/ferry/v1/models/:model/aliases/:alias', async (req: FastifyRequest<{ Params: AliasParams }>) => {
    const actor = ctx.auth.check(req, 'admin', 'moving aliases');
    const body = parseJsonBody(bodyText(req), 'alias move');
    const version = (body as { version?: unknown } | null)?.version;
    if (typeof version !== 'number' && typeof version !== 'string') {
      throw ferry('FERRY_E_REQUEST_INVALID', { protocol: 'alias move', detail: 'send {"version": <number or reference>}' });
    }
    const event = await ctx.app.registry.setAlias(req.params.model, req.params.alias, version, actor);
    ctx.logger.info({ model: req.params.model, alias: req.params.alias, from: event.fromVersion, to: event.toVersion, actor, ip: req.ip }, 'alias moved through the server');
    await ctx.served.refresh();
    return event;
  });

  app.post('/ferry/v1/models/:model/aliases/:alias/rollback', async (req: FastifyRequest<{ Params: AliasParams }>) => {
    const actor = ctx.auth.check(req, 'admin', 'moving aliases');
    const event = await ctx.app.registry.rollbackAlias(req.params.model, req.params.alias, actor);
    ctx.logger.info({ model: req.params.model, alias: req.params.alias, from: event.fromVersion, to: event.toVersion, actor, ip: req.ip }, 'alias rolled back through the server');
    await ctx.served.refresh();
    return event;
  });

  // `ferry promote` through the server: the same gates and the same alias-history note, the key as actor.
  app.post('/ferry/v1/models/:model/promote', async (req: FastifyRequest<{ Params: { model: string } }>) => {
    const actor = ctx.auth.check(req, 'admin', 'promoting versions');
    const body = (parseJsonBody(bodyText(req), 'promote') ?? {}) as { version?: unknown; to?: unknown; require?: unknown; window?: unknown; last?: unknown };
    const version = Number(body.version);
    const alias = body.to === undefined ? 'champion' : body.to;
    const gates = body.require === undefined ? [] : body.require;
    if (!Number.isInteger(version) || version < 1 || typeof alias !== 'string' || !Array.isArray(gates) || !gates.every((g) => typeof g === 'string')
      || (body.window !== undefined && typeof body.window !== 'string') || (body.last !== undefined && !(Number.isInteger(body.last) && (body.last as number) > 0))) {
      throw ferry('FERRY_E_REQUEST_INVALID', { protocol: 'promote', detail: 'send {"version": <number>, "to": "champion", "require": ["<gate>", …], "window": "24h" | "last": <n>}' });
    }
    const last = body.last as number | undefined;
    const outcome = await promote(ctx.monitoring, {
      model: req.params.model, version, alias, gates: gates.map(parseGate), actor,
      window: last !== undefined ? { last } : { sinceMs: Date.now() - parseWindow(typeof body.window === 'string' ? body.window : '24h', 'window') },
    });
    ctx.logger.info({ model: req.params.model, alias, to: version, actor, ip: req.ip }, 'version promoted through the server');
    await ctx.served.refresh();
    return outcome;
  });

  // `ferry traffic set` / `ferry traffic clear` through the server.
  app.put('/ferry/v1/models/:model/traffic', async (req: FastifyRequest<{ Params: { model: string } }>) => {
    const actor = ctx.auth.check(req, 'admin', 'setting traffic');
    const event = await ctx.app.registry.setTraffic(req.params.model, trafficBody(parseJsonBody(bodyText(req), 'traffic setting')), actor);
    ctx.logger.info({ model: req.params.model, traffic: event.note, actor, ip: req.ip }, 'traffic set through the server');
    await ctx.served.refresh();
    return event;
  });

  app.delete('/ferry/v1/models/:model/traffic', async (req: FastifyRequest<{ Params: { model: string } }>) => {
    const actor = ctx.auth.check(req, 'admin', 'setting traffic');
    const event = await ctx.app.registry.setTraffic(req.params.model, null, actor);
    ctx.logger.info({ model: req.params.model, actor, ip: req.ip }, 'traffic setting removed through the server');
    await ctx.served.refresh();
    return event;
  });

  app.get('/ferry/v1/models/:model/aliases', async (req: FastifyRequest<{ Params: { model: string } }>) => {
    ctx.auth.check(req, 'predict');
    const model = await ctx.app.registry.store.getModel(req.params.model);
    if (!model) throw ferry('FERRY_E_MODEL_NOT_FOUND', { model: req.params.model });
    return { aliases: await ctx.app.registry.store.listAliases(req.params.model), history: await ctx.app.registry.store.aliasHistory(req.params.model, undefined, 200) };
  });
}

/** `{"canary": [{"target", "weight"}] | null, "shadow": {"target", "share"} | null}` (shapes only; the registry checks the rest). */
function trafficBody(body: unknown): TrafficSplitSpec {
  const b = (body ?? {}) as { canary?: unknown; shadow?: unknown };
  const isRoute = (r: unknown): r is { target: string; weight: number } => typeof r === 'object' && r !== null && typeof (r as { target?: unknown }).target === 'string' && typeof (r as { weight?: unknown }).weight === 'number';
  const shadow = b.shadow as { target?: unknown; share?: unknown } | null | undefined;
  const canaryOk = b.canary === undefined || b.canary === null || (Array.isArray(b.canary) && b.canary.every(isRoute));
  const shadowOk = shadow === undefined || shadow === null || (typeof shadow === 'object' && typeof shadow.target === 'string' && (shadow.share === undefined || typeof shadow.share === 'number'));
  if (!canaryOk || !shadowOk) {
    throw ferry('FERRY_E_REQUEST_INVALID', { protocol: 'traffic setting', detail: 'send {"canary": [{"target": "champion", "weight": 90}, …] | null, "shadow": {"target": "challenger", "share": 0.5} | null}' });
  }
  return {
    canary: Array.isArray(b.canary) ? (b.canary as { target: string; weight: number }[]) : null,
    shadow: shadow ? { target: shadow.target as string, share: (shadow.share as number | undefined) ?? 1 } : null,
  };
}
