import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ferry } from '../../core/errors.js';
import { listingQuery, QUERY_PARAMETERS, windowQuery, type WindowOptions } from '../../monitoring/log-window.js';
import { getPrediction, listPredictions, predictionJson } from '../../monitoring/prediction-log-store.js';
import type { ServingContext } from '../context.js';

/** Most predictions one listing answers (and the default). */
const MAX_LIST = 1000;
const DEFAULT_LIST = 20;

/**
 * The prediction log, read over HTTP (docs/design/monitoring.md, "Reading the log over HTTP"):
 * `GET /ferry/v1/predictions/{id}` — one logged prediction by the id its answer carried
 * (`x-prediction-id`): the id is the capability, as for `POST /v1/feedback`, so a `predict` key
 * reads it; and `GET /ferry/v1/models/{model}/predictions?window=…&limit=20` — the newest of a
 * window, every caller's inputs, so an `admin` key. Both answer what `ferry monitor log --json` prints.
 */
export function predictionRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get('/ferry/v1/predictions/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    ctx.auth.check(req, 'predict');
    // Bounded before it gets here: Fastify answers 414 for a path parameter over 100 characters
    // (ids are 36: uuid v7; edge packages' 8 to 64).
    const { id } = req.params;
    const found = await getPrediction(ctx.app.database, id);
    if (!found) throw ferry('FERRY_E_PREDICTION_NOT_FOUND', { id });
    return predictionJson(found);
  });

  type ListQuery = WindowOptions & { limit?: string; low_confidence?: string; labelled?: string };
  app.get('/ferry/v1/models/:model/predictions', async (req: FastifyRequest<{ Params: { model: string }; Querystring: ListQuery }>) => {
    ctx.auth.check(req, 'admin', 'reading logged requests');
    const q = req.query;
    const limit = q.limit === undefined ? DEFAULT_LIST : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) throw ferry('FERRY_E_PARAMETER_INVALID', { name: 'limit', detail: `"${q.limit}" must be a whole number from 1 to ${MAX_LIST}` });
    const window = windowQuery(req.params.model, { window: q.window, since: q.since, until: q.until, last: q.last, version: q.version }, QUERY_PARAMETERS);
    const query = listingQuery(window, limit, { lowConfidence: flag(q.low_confidence, 'low_confidence'), labelled: q.labelled === undefined ? undefined : flag(q.labelled, 'labelled') });
    const rows = await listPredictions(ctx.app.database, query);
    return { model: req.params.model, predictions: rows.map(predictionJson) };
  });
}

/** `true`/`false` (or absent: false) from a query parameter. */
function flag(v: string | undefined, name: string): boolean {
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw ferry('FERRY_E_PARAMETER_INVALID', { name, detail: `"${v}" must be true or false` });
}
