import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ferry } from '../../core/errors.js';
import { applyFeedback } from '../../monitoring/feedback.js';
import { LiveMetricGauges } from '../../monitoring/live-metrics-gauges.js';
import { liveMetrics } from '../../monitoring/live-metrics.js';
import { QUERY_PARAMETERS, windowQuery, type WindowOptions } from '../../monitoring/log-window.js';
import type { ServingContext } from '../context.js';
import { bodyText, parseJsonBody } from './fastify.js';

const PROTOCOL = 'feedback';

/**
 * Ground truth and live metrics over the prediction log:
 * `POST /v1/feedback` attaches actual values to logged predictions by id (one object or a
 * list; unknown ids are reported, not fatal), and
 * `GET /ferry/v1/models/{model}/metrics?window=1h` answers the live metrics with label coverage;
 * the same metrics over the last hour are Prometheus gauges of every logged model (`/metrics`).
 */
export function feedbackRoutes(app: FastifyInstance, ctx: ServingContext): void {
  const { config } = ctx;
  const logged = () => (config.models ? config.models.filter((m) => m.log).map((m) => m.name) : config.defaults.log ? ctx.deployments.models : []);
  new LiveMetricGauges(ctx.app.database, ctx.metrics.registry, logged, config.monitoringMaxRows);

  app.post('/v1/feedback', async (req) => {
    // Labels feed live metrics, alerts and retraining: a predict key must not rewrite them.
    ctx.auth.check(req, 'feedback', 'posting ground truth');
    const doc = parseJsonBody(bodyText(req), PROTOCOL);
    const items = Array.isArray(doc) ? doc : isObject(doc) && Array.isArray(doc.items) ? doc.items as unknown[] : [doc];
    if (items.length === 0) throw ferry('FERRY_E_REQUEST_INVALID', { protocol: PROTOCOL, detail: 'send {"prediction_id": "…", "actual": …} or a list of them' });
    const result = await applyFeedback(ctx.app.database, items);
    return { attached: result.attached, unknown: result.unknown, rejected: result.rejected };
  });

  app.get('/ferry/v1/models/:model/metrics', async (req: FastifyRequest<{ Params: { model: string }; Querystring: WindowOptions & { task?: string; output?: string } }>) => {
    ctx.auth.check(req, 'predict');
    const q = req.query;
    const task = q.task ?? 'auto';
    if (task !== 'auto' && task !== 'classification' && task !== 'regression') throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'task', detail: `"${task}" is not classification, regression or auto` });
    const query = windowQuery(req.params.model, { window: q.window ?? (q.since === undefined && q.last === undefined ? '1h' : undefined), since: q.since, until: q.until, last: q.last, version: q.version }, QUERY_PARAMETERS);
    return liveMetrics(ctx.app.database, query, { task: task, output: q.output, maxRows: config.monitoringMaxRows });
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
