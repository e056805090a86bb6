import type { ServerResponse } from 'node:http';
import type { ServingContext } from '../context.js';
import { readBody } from './body-reader.js';
import { errorAnswer, httpFerryError, MAX_HEADER_IDS, type FrontRoute } from './fastify.js';
import { inferAnswer, type InferAnswer } from './oip.js';

/** `/v2/models/:model/infer` and `/v2/models/:model/versions/:version/infer`, plain segments only (no escapes, no query). */
const INFER_PATH = /^\/v2\/models\/([^/?%]{1,100})(?:\/versions\/([^/?%]{1,100}))?\/infer$/;

/** The content types Fastify's JSON parser would take as they are. */
const JSON_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8']);

/**
 * The Open Inference Protocol's JSON infer route on the raw request: the same `inferAnswer` as
 * the Fastify route (oip.ts), without Fastify's routing, hooks and reply pipeline, which cost
 * about as much CPU as a small model's inference. It takes only the plain case — POST, a JSON
 * content type, a Content-Length within the body limit, no auth — and leaves everything else
 * (chunked bodies, escaped paths, auth's early 401, shutdown's 503) to the Fastify route, so
 * every answer and error is the one Fastify would give.
 */
export function oipInferFront(ctx: ServingContext): FrontRoute {
  const limit = ctx.config.bodyLimit;
  return (req, res, id) => {
    if (req.method !== 'POST' || ctx.auth.enabled) return false;
    const match = INFER_PATH.exec(req.url ?? '');
    if (!match) return false;
    const { headers } = req;
    const type = headers['content-type'];
    if (type === undefined || !JSON_TYPES.has(type.toLowerCase()) || headers['transfer-encoding'] !== undefined) return false;
    const length = Number(headers['content-length']);
    if (!Number.isInteger(length) || length < 0 || length > limit) return false;
    const [, model = '', version] = match;
    // A client gone mid-body needs no answer; the listener outlives the read, so a late stream error is not thrown.
    req.on('error', () => undefined);
    readBody(req, headers, limit, (err, body) => {
      if (err || !body) return;
      inferAnswer(ctx, model, version, body, headers, id).then(
        (answer) => send(res, answer),
        (err: unknown) => {
          const error = errorAnswer(httpFerryError(err), 'oip', ctx.logger, { id, url: req.url ?? '' });
          const json = JSON.stringify(error.body);
          for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
          res.setHeader('content-type', 'application/json; charset=utf-8');
          res.setHeader('content-length', Buffer.byteLength(json));
          res.writeHead(error.status).end(json);
        },
      );
    });
    return true;
  };
}

function send(res: ServerResponse, answer: InferAnswer): void {
  const body = Buffer.isBuffer(answer.payload) ? answer.payload : JSON.stringify(answer.payload);
  res.setHeader('x-ferry-model-version', answer.version);
  const ids = answer.predictionIds;
  if (ids) {
    res.setHeader('x-prediction-count', String(ids.length));
    if (ids.length <= MAX_HEADER_IDS) res.setHeader('x-prediction-id', answer.predictionIdText ?? ids.join(','));
  }
  if (answer.headerLength !== undefined) res.setHeader('inference-header-content-length', String(answer.headerLength));
  res.setHeader('content-type', answer.contentType === 'application/json' ? 'application/json; charset=utf-8' : answer.contentType);
  res.setHeader('content-length', typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  res.writeHead(200).end(body);
}
