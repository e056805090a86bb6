import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ferry, quoteList, type FerryError } from '../../core/errors.js';
import { ColumnFrame, toCell, type Frame } from '../../core/frame.js';
import { frameFromJson } from '../../data/formats/json.js';
import { parseText } from '../../data/readers.js';
import type { ServingContext } from '../context.js';
import { explainOptions } from '../../scoring/explain-stage.js';
import type { ExplainOptions } from '../../scoring/explanations.js';
import { bodyText, mediaType, parseJsonBody, sendError, toFerry } from './fastify.js';
import { inputsFrame, instancesFrame, predict } from './kserve-v1.js';

const PROTOCOL = 'MLflow scoring';

/** The payload keys of an MLflow JSON body; exactly one must be present. */
const PAYLOADS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
type PayloadKey = (typeof PAYLOADS)[number];

const ACCEPTED = '"application/json" or "text/csv" (charset=utf-8 is the only parameter allowed)';

/**
 * The MLflow scoring protocol (`mlflow models serve`): `/invocations`, `/ping`, `/health`,
 * `/version`. Thin translation only: the four JSON payloads and CSV become a Frame; the
 * scoring core maps columns to inputs and validates rows.
 *
 * Registered as an encapsulated plugin so its errors use MLflow's shape
 * `{"error_code","message"}` while the rest of the server keeps `{"error"}`. Fastify loads
 * the plugin on `ready`, which `listen` awaits, so the routes exist before the first request.
 *
 * Response: `{"predictions": …}` with one entry per row — the value itself for a model with
 * one output; for several outputs an object `{output: value}` per row, as MLflow returns a
 * DataFrame prediction (`orient="records"`). (MLflow answers a dict-of-tensors prediction
 * column-wise instead; per-row records keep every Ferry model's answer the same shape.)
 */
export function mlflowRoutes(app: FastifyInstance, ctx: ServingContext): void {
  void app.register((scope, _opts, done) => {
    scope.setErrorHandler((err: FastifyError | FerryError, req, reply) => sendError(reply, toFerry(err, req), 'mlflow'));

    // MLflow answers 200 "\n" when the model is loaded and 404 otherwise; Ferry answers 503
    // while loading, which is what load balancers and readiness probes expect for "not yet".
    const health = (_req: FastifyRequest, reply: FastifyReply) =>
      reply.code(ctx.deployments.ready ? 200 : 503).type('application/json').send('\n');
    scope.get('/ping', health);
    scope.get('/health', health);
    scope.get('/version', (_req, reply) => reply.type('text/plain; charset=utf-8').send(ctx.version));

    scope.post('/invocations', (req, reply) => {
      ctx.auth.check(req, 'predict');
      const models = ctx.deployments.models;
      const [only] = models;
      if (only === undefined || models.length !== 1) {
        throw invalid(`POST /invocations needs a server with exactly one model, and this one serves ${models.length === 0 ? 'none' : quoteList(models)}; use POST /models/<model>/invocations`);
      }
      return invocations(ctx, req, reply, only);
    });
    scope.post('/models/:model/invocations', (req: FastifyRequest<{ Params: { model: string } }>, reply) => {
      ctx.auth.check(req, 'predict');
      return invocations(ctx, req, reply, req.params.model);
    });
    done();
  });
}

async function invocations(ctx: ServingContext, req: FastifyRequest, reply: FastifyReply, model: string): Promise<FastifyReply> {
  // Refused requests never reach the pipeline, which counts the rest: count them here.
  const { served, frame, explain } = await ctx.metrics.countRefused(model, undefined, 'mlflow', async () => {
    const deployment = ctx.deployments.config(model); // 404 for a model not served here, before looking at the body
    return { served: deployment, ...(await requestFrame(ctx, req, model)) };
  });
  return predict(ctx, req, reply, served, frame, 'mlflow', explain ? { explain, only: false } : undefined);
}

/** The request body as a Frame: CSV, or JSON with exactly one payload key (plus optional `params`). */
async function requestFrame(ctx: ServingContext, req: FastifyRequest, model: string): Promise<{ frame: Frame; explain?: ExplainOptions | undefined }> {
  const kind = bodyKind(req);
  const text = bodyText(req);
  if (kind === 'csv') {
    const frame = parseText(text, 'csv', 'The CSV body');
    if (frame.length === 0) throw ferry('FERRY_E_INPUT_EMPTY', { source: 'The CSV body' });
    return { frame };
  }
  const doc = parseJsonBody(text, PROTOCOL);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(`the body must be a JSON object with exactly one of ${quoteList([...PAYLOADS])}`);
  const body = doc as Record<string, unknown>;
  const keys = Object.keys(body).filter((k) => k !== 'params');
  const present = PAYLOADS.filter((k) => keys.includes(k));
  const [key] = present;
  if (key === undefined || keys.length !== 1) {
    throw invalid(`the body must have exactly one of ${quoteList([...PAYLOADS])} (and optionally "params"); it has ${keys.length === 0 ? 'none' : quoteList(keys)}`);
  }
  // `params` are passed to predict(data, params) by MLflow; models take none, so they are accepted
  // and ignored (but must be an object, as in MLflow) — except `explain`, which adds explanations.
  if (body.params !== undefined && (typeof body.params !== 'object' || body.params === null || Array.isArray(body.params))) {
    throw invalid('"params" must be an object');
  }
  const asked = (body.params as Record<string, unknown> | undefined)?.explain;
  const explain = asked === undefined || asked === false ? undefined : explainOptions(asked, PROTOCOL);
  return { frame: await payloadFrame(ctx, model, key, body[key]), explain };
}

function payloadFrame(ctx: ServingContext, model: string, key: PayloadKey, value: unknown): Promise<Frame> | Frame {
  const what = `"${key}"`;
  switch (key) {
    case 'dataframe_split': return splitFrame(ctx, model, value);
    case 'dataframe_records': {
      if (!Array.isArray(value)) throw invalid(`${what} must be a list of row objects ({"column": value})`);
      if (value.length === 0) throw ferry('FERRY_E_INPUT_EMPTY', { source: `The ${what} of the request` });
      return frameFromJson(value, `The ${what} of the request`);
    }
    case 'instances': return instancesFrame(ctx, model, value, what, PROTOCOL);
    case 'inputs': return inputsFrame(ctx, model, value, what, PROTOCOL);
  }
}

/**
 * pandas' split orient: `{"columns": […], "data": [[…], …], "index": […]}` (index ignored).
 * Without `columns`, each data row is a whole row of the model's only input.
 */
function splitFrame(ctx: ServingContext, model: string, value: unknown): Promise<Frame> | Frame {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('"dataframe_split" must be an object {"columns": [names], "data": [[row], …]}');
  const { columns, data } = value as { columns?: unknown; data?: unknown };
  if (!Array.isArray(data)) throw invalid('"dataframe_split" needs "data", a list of rows');
  if (columns === undefined) return instancesFrame(ctx, model, data, '"dataframe_split.data"', PROTOCOL);
  if (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string' || typeof c === 'number')) {
    throw invalid('"dataframe_split.columns" must be a list of column names');
  }
  const names = columns.map(String);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw invalid(`"dataframe_split.columns" names column "${dup}" twice`);
  if (data.length === 0) throw ferry('FERRY_E_INPUT_EMPTY', { source: 'The "dataframe_split" of the request' });
  const rows = data.map((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== names.length) {
      throw invalid(`row ${i + 1} of "dataframe_split.data" must be a list of ${names.length} value(s), one per column; it is ${Array.isArray(row) ? `a list of ${row.length}` : JSON.stringify(row)}`);
    }
    return row.map(toCell);
  });
  return ColumnFrame.fromRecords(names, rows);
}

/** `application/json` or `text/csv`, with no parameter but `charset=utf-8`; anything else is 415. */
function bodyKind(req: FastifyRequest): 'json' | 'csv' {
  const header = req.headers['content-type'] ?? '';
  const type = mediaType(req);
  const params = header.split(';').slice(1).map((p) => p.replace(/[\s"]/g, '').toLowerCase()).filter((p) => p !== '');
  if ((type === 'application/json' || type === 'text/csv') && params.every((p) => p === 'charset=utf-8')) return type === 'text/csv' ? 'csv' : 'json';
  throw ferry('FERRY_E_MEDIA_TYPE', { contentType: header === '' ? '(none)' : header, accepted: ACCEPTED });
}

function invalid(detail: string) {
  return ferry('FERRY_E_REQUEST_INVALID', { protocol: PROTOCOL, detail });
}
