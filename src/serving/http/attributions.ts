import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AttributionGauges } from '../../monitoring/attribution-gauges.js';
import { attributionSummary } from '../../monitoring/attributions.js';
import { QUERY_PARAMETERS, windowQuery, type WindowOptions } from '../../monitoring/log-window.js';
import type { ServingContext } from '../context.js';

/**
 * Attribution monitoring over the prediction log: `GET /ferry/v1/models/{model}/attributions?window=1h`
 * answers `ferry monitor attributions --json` (mean |contribution| and share per input column of the
 * explained, logged predictions); the last hour of every logged model is also a set of Prometheus
 * gauges (`/metrics`).
 */
export function attributionRoutes(app: FastifyInstance, ctx: ServingContext): void {
  const { config } = ctx;
  const logged = () => (config.models ? config.models.filter((m) => m.log).map((m) => m.name) : config.defaults.log ? ctx.deployments.models : []);
  new AttributionGauges(ctx.app.database, ctx.metrics.registry, logged, config.monitoringMaxRows);

  app.get('/ferry/v1/models/:model/attributions', async (req: FastifyRequest<{ Params: { model: string }; Querystring: WindowOptions }>) => {
    ctx.auth.check(req, 'predict');
    const q = req.query;
    const query = windowQuery(req.params.model, { window: q.window ?? (q.since === undefined && q.last === undefined ? '1h' : undefined), since: q.since, until: q.until, last: q.last, version: q.version }, QUERY_PARAMETERS);
    // At most the newest monitoring_max_rows explained rows of the window: one request never reads the whole log.
    return attributionSummary(ctx.app.database, { ...query, last: Math.min(query.last ?? config.monitoringMaxRows, config.monitoringMaxRows) });
  });
}
