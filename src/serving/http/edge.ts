import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ferry } from '../../core/errors.js';
import { ColumnFrame } from '../../core/frame.js';
import type { OutputValue } from '../../scoring/outputs.js';
import type { ServingContext } from '../context.js';
import { bodyText, parseJsonBody } from './fastify.js';

const PROTOCOL = 'edge report';
/** Predictions per post; a package sends far fewer (its batches are ~100 rows). */
const MAX_PREDICTIONS = 10_000;
const ID = /^[0-9A-Za-z_-]{8,64}$/;

interface Prediction { readonly prediction_id: string; readonly inputs: Record<string, unknown>; readonly outputs: Record<string, unknown> }
interface Batch { readonly at: number; readonly latency_ms: number; readonly predictions: readonly Prediction[] }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const invalid = (detail: string) => ferry('FERRY_E_REQUEST_INVALID', { protocol: PROTOCOL, detail });

/** Check the body's shape; the first problem names where it is. */
function batchesOf(doc: Record<string, unknown>): Batch[] {
  if (!Array.isArray(doc.batches)) throw invalid('"batches" must be a list of {"at", "latency_ms", "predictions": [{"prediction_id", "inputs", "outputs"}]}');
  let count = 0;
  return doc.batches.map((b: unknown, i) => {
    if (!isObject(b) || !Array.isArray(b.predictions)) throw invalid(`batches[${i}] must be an object with a "predictions" list`);
    if (typeof b.at !== 'number' || !Number.isFinite(b.at)) throw invalid(`batches[${i}].at must be a time in epoch milliseconds`);
    const latency = typeof b.latency_ms === 'number' && Number.isFinite(b.latency_ms) && b.latency_ms >= 0 ? b.latency_ms : 0;
    count += b.predictions.length;
    if (count > MAX_PREDICTIONS) throw ferry('FERRY_E_REQUEST_LIMIT', { protocol: PROTOCOL, count, what: 'predictions', limit: MAX_PREDICTIONS });
    b.predictions.forEach((p: unknown, j) => {
      const where = `batches[${i}].predictions[${j}]`;
      if (!isObject(p)) throw invalid(`${where} must be an object`);
      if (typeof p.prediction_id !== 'string' || !ID.test(p.prediction_id)) throw invalid(`${where}.prediction_id must be 8 to 64 letters, digits, "-" or "_"`);
      if (!isObject(p.inputs) || !isObject(p.outputs)) throw invalid(`${where} needs "inputs" and "outputs" objects`);
    });
    return { at: b.at, latency_ms: latency, predictions: b.predictions as Prediction[] };
  });
}

/**
 * `POST /ferry/v1/models/{model}/edge-predictions`: predictions an exported package made on a
 * device (its `report: { url }` setting), posted in batches with the ids the package gave them.
 * Each batch (one `predict` call) goes through the pipeline's `record` to the observers — the
 * prediction log, so drift, live metrics and feedback (`POST /v1/feedback` with those ids) cover
 * edge traffic. The package names its version and artifact digest; a digest that is not the
 * registered one is refused. Answers `{"logged": n}` once the rows are queued for the log.
 */
export function edgeRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.post('/ferry/v1/models/:model/edge-predictions', async (req: FastifyRequest<{ Params: { model: string } }>) => {
    ctx.auth.check(req, 'predict');
    const doc = parseJsonBody(bodyText(req), PROTOCOL);
    if (!isObject(doc)) throw invalid('send {"version", "digest", "batches": […]}');
    if (typeof doc.version !== 'number' || !Number.isInteger(doc.version)) throw invalid('"version" must be the exported version number');
    const version = await ctx.monitoring.registry.resolve(`${req.params.model}:${doc.version}`);
    if (doc.digest !== version.digest) throw invalid(`the package's artifact digest ${JSON.stringify(doc.digest)} is not ${version.model}:${version.version}'s (${version.digest})`);
    const outputs = version.signature.outputs;
    let logged = 0;
    for (const batch of batchesOf(doc)) {
      if (batch.predictions.length === 0) continue;
      const columns = outputs.map((o) => ({
        name: o.name,
        dtype: o.dtype,
        rowShape: o.shape.slice(1),
        values: batch.predictions.map((p) => (p.outputs[o.name] ?? null) as OutputValue),
      }));
      const notes = await ctx.pipeline.record({
        version,
        frame: ColumnFrame.fromRows(batch.predictions.map((p) => p.inputs)),
        outputs: { kind: 'columns', columns },
        predictionIds: batch.predictions.map((p) => p.prediction_id),
        at: batch.at,
        latencyMs: batch.latency_ms,
        requestId: req.id,
      });
      logged += notes?.predictionIds?.length ?? 0;
    }
    return { logged };
  });
}
