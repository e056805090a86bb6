import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ferry, quoteList } from '../../core/errors.js';
import { ColumnFrame, toCell, type Frame } from '../../core/frame.js';
import { frameFromJson } from '../../data/formats/json.js';
import type { OutputValue } from '../../scoring/outputs.js';
import type { ScoreResult } from '../../scoring/scorer.js';
import type { ServingContext } from '../context.js';
import type { ModelDeployment } from '../../scoring/deployment-config.js';
import { EXPLAIN_STAGE, explainOptions } from '../../scoring/explain-stage.js';
import { explanationsFromColumns, type ExplainOptions } from '../../scoring/explanations.js';
import { bodyText, parseJsonBody, setPredictionHeaders } from './fastify.js';

const PROTOCOL = 'KServe v1';

/**
 * KServe v1 (the TensorFlow Serving REST dialect): list, status and `:predict`. Thin
 * translation only: `instances` / `inputs` become a Frame, the scoring core does the rest.
 * Errors keep the server's `{"error"}` shape (KServe and TFS answer `{"error": "…"}`).
 */
export function kserveV1Routes(app: FastifyInstance, ctx: ServingContext): void {
  app.get('/v1/models', (req) => {
    ctx.auth.check(req, 'predict');
    return { models: ctx.deployments.models };
  });

  // Ready → 200 {"name","ready":true}; served but not (yet) loaded → 503 {"name","ready":false},
  // as KServe answers (a readiness probe on this URL passes only once the model can answer).
  app.get('/v1/models/:model', (req: FastifyRequest<{ Params: { model: string } }>, reply) => {
    ctx.auth.check(req, 'predict');
    const { model } = req.params;
    ctx.deployments.config(model); // 404 FERRY_E_MODEL_NOT_SERVED for models not served here
    const ready = ctx.deployments.isReady(model);
    return reply.code(ready ? 200 : 503).send({ name: model, ready });
  });

  // `POST /v1/models/{m}:predict`. The colon is part of one path segment; Fastify reads `:` as a
  // parameter marker and `/:model::predict` does not work after a parameter (find-my-way takes
  // "model::predict" as the parameter's name), so take the whole segment and split on its last ':'.
  app.post('/v1/models/:modelAction', async (req: FastifyRequest<{ Params: { modelAction: string } }>, reply) => {
    const segment = req.params.modelAction;
    const at = segment.lastIndexOf(':');
    const verb = at < 0 ? '' : segment.slice(at + 1);
    if (verb !== 'predict' && verb !== 'explain') throw ferry('FERRY_E_ROUTE_NOT_FOUND', { method: req.method, path: req.url.split('?')[0] ?? req.url });
    const model = segment.slice(0, at);
    ctx.auth.check(req, 'predict');
    // Refused requests never reach the pipeline, which counts the rest: count them here.
    const { served, frame, ask } = await ctx.metrics.countRefused(model, undefined, 'kserve-v1', async () => {
      const deployment = ctx.deployments.config(model);
      const doc = parseJsonBody(bodyText(req), PROTOCOL);
      const rows = await tfsFrame(ctx, model, doc, PROTOCOL);
      // `:explain` answers the explanations of the same rows, computed by the pipeline's explain stage.
      const explain: ExplainAsk | undefined = verb === 'explain' ? { explain: explainOptions(isPlainObject(doc) ? doc.explain : undefined, PROTOCOL), only: true } : undefined;
      return { served: deployment, frame: rows, ask: explain };
    });
    return predict(ctx, req, reply, served, frame, 'kserve-v1', ask);
  });
}

/**
 * The Frame of a TFS-style body `{"instances": […]}` or `{"inputs": …}` (exactly one of them;
 * other keys such as `signature_name` are ignored).
 */
export async function tfsFrame(ctx: ServingContext, model: string, doc: unknown, protocol: string): Promise<Frame> {
  if (!isPlainObject(doc)) throw invalid(protocol, 'the body must be a JSON object with "instances" or "inputs"');
  const has = (['instances', 'inputs'] as const).filter((k) => doc[k] !== undefined);
  if (has.length !== 1) throw invalid(protocol, has.length === 0 ? 'the body needs "instances" (a list of rows) or "inputs" (columns or a list of rows)' : 'the body has both "instances" and "inputs"; send one of them');
  const key = has[0] as 'instances' | 'inputs';
  return key === 'instances' ? instancesFrame(ctx, model, doc.instances, '"instances"', protocol) : inputsFrame(ctx, model, doc.inputs, '"inputs"', protocol);
}

/**
 * `instances`: a list of rows. Row objects are records (keys are column names, or input
 * names holding the whole row of that input). Lists or scalars are whole rows of the model's
 * only input (a model with several inputs needs row objects).
 */
export async function instancesFrame(ctx: ServingContext, model: string, rows: unknown, what: string, protocol: string): Promise<Frame> {
  if (!Array.isArray(rows)) throw invalid(protocol, `${what} must be a list of rows`);
  if (rows.length === 0) throw ferry('FERRY_E_INPUT_EMPTY', { source: `The ${what} of the request` });
  const objects = rows.filter(isPlainObject).length;
  if (objects === rows.length) return frameFromJson(rows, `The ${what} of the request`);
  if (objects > 0) throw invalid(protocol, `${what} mixes row objects with lists or values; send every row the same way`);
  const input = await onlyInput(ctx, model, what, protocol);
  return new ColumnFrame(new Map([[input, rows.map(toCell)]]), rows.length);
}

/** `inputs`: an object of columns `{name: [one value or array per row]}`, or a list of rows like `instances`. */
export async function inputsFrame(ctx: ServingContext, model: string, inputs: unknown, what: string, protocol: string): Promise<Frame> {
  if (Array.isArray(inputs)) return instancesFrame(ctx, model, inputs, what, protocol);
  if (!isPlainObject(inputs)) throw invalid(protocol, `${what} must be an object of columns ({"name": [values]}) or a list of rows`);
  const frame = frameFromJson(inputs, `The ${what} of the request`);
  if (frame.length === 0) throw ferry('FERRY_E_INPUT_EMPTY', { source: `The ${what} of the request` });
  return frame;
}

/** Explanations asked of a row request: with the predictions, or instead of them (KServe `:explain`). */
export interface ExplainAsk {
  readonly explain: ExplainOptions;
  readonly only: boolean;
}

/**
 * Run a frame through the one inference call; answer `{"predictions": […]}` with the version header
 * (plus `"explanations"` when asked; only those for KServe's `:explain`).
 */
export async function predict(ctx: ServingContext, req: FastifyRequest, reply: FastifyReply, served: ModelDeployment, frame: Frame, protocol: 'kserve-v1' | 'mlflow', ask?: ExplainAsk): Promise<FastifyReply> {
  const confidence = confidenceQuery(req);
  // Over a protocol a request is all or nothing: the first bad row fails it, naming the row.
  const result = await ctx.pipeline.run({
    model: { served }, input: { kind: 'frame', frame }, source: protocol, requestId: req.id, confidence, badRows: 'fail',
    ...(ask ? { extras: { [EXPLAIN_STAGE]: ask.explain } } : {}),
  });
  void reply.header('x-ferry-model-version', String(result.version));
  setPredictionHeaders(reply, result.predictionIds);
  const explained = result.extras?.[EXPLAIN_STAGE];
  const explanations = explained?.kind === 'columns' ? explanationsFromColumns(explained.columns, result.result.rows.length) : undefined;
  if (ask?.only) return reply.type('application/json').send({ explanations, ...(result.predictionIds ? { prediction_ids: result.predictionIds } : {}) });
  // Extra keys next to "predictions" (clients read "predictions" and ignore the rest).
  return reply.type('application/json').send({
    predictions: rowPredictions(result.result),
    ...(explanations ? { explanations } : {}),
    ...(result.predictionIds ? { prediction_ids: result.predictionIds } : {}),
    ...(result.confidence ? { confidence: Array.from(result.confidence, (v) => (Number.isFinite(v) ? v : null)) } : {}),
  });
}

/** `?confidence=true|false` on the URL (MLflow and KServe v1 bodies have no place for it). */
function confidenceQuery(req: FastifyRequest): boolean | undefined {
  const v = (req.query as Record<string, unknown> | undefined)?.confidence;
  if (v === undefined) return undefined;
  if (v === 'true' || v === '1' || v === '') return true;
  if (v === 'false' || v === '0') return false;
  throw ferry('FERRY_E_REQUEST_INVALID', { protocol: 'HTTP', detail: `?confidence must be true or false, not ${JSON.stringify(v)}` });
}

/**
 * One prediction per row: the value itself for a model with one output (a scalar, or an
 * array in the output's row shape), else an object `{output: value}` per row.
 */
export function rowPredictions(result: ScoreResult): OutputValue[] | Record<string, OutputValue>[] {
  const [only, ...more] = result.outputs;
  if (only && more.length === 0) return only.values;
  return result.rows.map((_, i) => Object.fromEntries(result.outputs.map((o) => [o.name, o.values[i] ?? null])));
}

/** The name of the model's only input, for rows sent as bare lists. */
async function onlyInput(ctx: ServingContext, model: string, what: string, protocol: string): Promise<string> {
  const { signature } = await ctx.deployments.describe(model);
  const [input, ...more] = signature.inputs;
  if (!input || more.length > 0) {
    throw invalid(protocol, `model "${model}" has ${signature.inputs.length} inputs (${quoteList(signature.inputs.map((i) => i.name))}); send each row of ${what} as an object keyed by column or input name`);
  }
  return input.name;
}

function invalid(protocol: string, detail: string) {
  return ferry('FERRY_E_REQUEST_INVALID', { protocol, detail });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
