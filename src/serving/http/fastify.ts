import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Readable } from 'node:stream';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { asFerryError, ferry, type FerryError } from '../../core/errors.js';
import type { ServeConfig } from '../config.js';
import { readBody, type BodyDone } from './body-reader.js';

/** Shared with the server's shutdown: once closing, every response ends its connection. */
export interface HttpState {
  closing: boolean;
}

const REQUEST_ID = Symbol('ferry.requestId');
type RawWithId = IncomingMessage & { [REQUEST_ID]?: string };

/**
 * A route answered on the raw request, ahead of Fastify's routing and reply pipeline (the hot
 * inference routes): returns false to leave the request to Fastify. `id` is the request id,
 * already set as the x-request-id response header.
 */
export type FrontRoute = (req: IncomingMessage, res: ServerResponse, id: string) => boolean;

/** Fastify with Ferry's conventions: raw bodies, request ids, errors from the catalog; `front` answers its requests before Fastify sees them. */
export function createHttpApp(config: ServeConfig, logger: Logger, state: HttpState = { closing: false }, front?: FrontRoute): FastifyInstance {
  const keepAliveTimeout = 72_000;
  // Node checks request timeouts every connectionsCheckingInterval (30 s by default), so a
  // stalled body outlived request_timeout_ms by up to that much: check ~10 times per timeout.
  const http = { connectionsCheckingInterval: checkInterval(config.requestTimeoutMs) };
  const tls = config.tls ? { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key), ...http } : undefined;
  const app = Fastify({
    loggerInstance: logger,
    // Per-request log lines cost more than the inference of a small model; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout,
    requestIdHeader: 'x-request-id',
    // The id is chosen by the server's request listener below, before Fastify's handler runs.
    genReqId: (raw) => (raw as RawWithId)[REQUEST_ID] ?? randomUUID(),
    // No child logger per request (measured: 2–4 µs each); error lines carry the request id.
    childLoggerFactory: (parent) => parent,
    return503OnClosing: true,
    // Our own node:http server (what Fastify would create from these options), so that one listener
    // runs per request: it returns the request id (taken from x-request-id or generated) on every
    // answer, and while shutting down closes each connection after its response so the drain ends
    // promptly (otherwise keep-alive connections hold the server open until their timeout); then
    // the front route or Fastify answers.
    serverFactory: (handler) => {
      const nextId = requestIds();
      const listener = (req: IncomingMessage, res: ServerResponse) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && given !== '' ? given : nextId();
        (req as RawWithId)[REQUEST_ID] = id;
        res.setHeader('x-request-id', id);
        if (state.closing) res.setHeader('connection', 'close');
        else if (front?.(req, res, id)) return;
        handler(req, res);
      };
      const server: Server = tls ? createHttpsServer(tls, listener) : createServer(http, listener);
      server.keepAliveTimeout = keepAliveTimeout;
      server.requestTimeout = config.requestTimeoutMs;
      return server;
    },
    // Only for the address Fastify reports (https://…); the server above is the one that listens.
    ...(tls ? { https: tls } : {}),
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = Math.min(config.requestTimeoutMs, 60_000);
  app.server.maxConnections = config.maxConnections;

  // Every protocol parses its own body: keep it as bytes (JSON, CSV and binary tensors alike),
  // read with Fastify's limits and errors into one buffer (body-reader.ts).
  app.removeAllContentTypeParsers();
  const read = (req: FastifyRequest, payload: Readable, done: BodyDone) => { readBody(payload, req.headers, req.routeOptions.bodyLimit, done); };
  app.addContentTypeParser(['application/json', 'application/octet-stream'], read);
  app.addContentTypeParser('*', read);
  app.setErrorHandler((err: FastifyError | FerryError, req, reply) => sendError(reply, toFerry(err, req), 'oip'));
  app.setNotFoundHandler((req, reply) => sendError(reply, ferry('FERRY_E_ROUTE_NOT_FOUND', { method: req.method, path: req.url.split('?')[0] ?? req.url }), 'oip'));
  return app;
}

/**
 * Generated request ids: UUID-shaped (8-4-4-4-12 hex digits), a random prefix per server and a
 * counter, unique across processes and restarts with overwhelming odds; a `randomUUID()` per
 * request cost about 1 % of a server's CPU.
 */
function requestIds(): () => string {
  const prefix = randomUUID().slice(0, 24);
  let n = randomBytes(6).readUIntBE(0, 6);
  return () => {
    n = n >= 0xffffffffffff ? 0 : n + 1;
    return prefix + n.toString(16).padStart(12, '0');
  };
}

/**
 * Close the HTTP side once its in-flight requests are answered. A request already running when
 * the drain began answers without `connection: close` (that header is chosen as a request
 * arrives); its connection is closed as soon as it goes idle, by a sweep every 50 ms, instead of
 * holding the server open until keep-alive's 72 s timeout.
 */
export async function closeHttp(app: FastifyInstance, state: HttpState): Promise<void> {
  state.closing = true;
  const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
  }
}

function checkInterval(timeoutMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(timeoutMs / 10)));
}

/** Map Fastify's own errors (body too large, bad content length, timeouts) to the catalog. */
export function toFerry(err: unknown, req: FastifyRequest): FerryError {
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return ferry('FERRY_E_PAYLOAD_TOO_LARGE', { limit: (req.routeOptions.config as { bodyLimit?: number } | undefined)?.bodyLimit ?? req.server.initialConfig.bodyLimit ?? 0 });
  if (typeof code === 'string' && code.startsWith('FST_ERR_CTP')) return ferry('FERRY_E_REQUEST_INVALID', { protocol: 'HTTP', detail: (err as Error).message });
  return httpFerryError(err);
}

/** An error thrown while answering as a catalog error: another library's 4xx (an error with `statusCode`) is the client's mistake, anything else keeps its code or is internal. */
export function httpFerryError(err: unknown): FerryError {
  const status = (err as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && !(err instanceof Error && err.name === 'FerryError')) {
    return ferry('FERRY_E_REQUEST_INVALID', { protocol: 'HTTP', detail: (err as Error).message });
  }
  return asFerryError(err);
}

export type ErrorStyle = 'oip' | 'mlflow';

/** An error answer in a protocol's shape: status, headers beside the content type, JSON body. */
export interface ErrorAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: object;
}

/**
 * The answer to `error` in the protocol's shape: OIP/KServe `{"error"}`, MLflow
 * `{"error_code","message"}`; logged when it is a server failure (`request`: the request id and URL).
 */
export function errorAnswer(error: FerryError, style: ErrorStyle, logger: Pick<Logger, 'error'>, request: { readonly id: string; readonly url: string }): ErrorAnswer {
  const status = error.httpStatus;
  const retry = error.code === 'FERRY_E_QUEUE_FULL' || error.code === 'FERRY_E_MODEL_NOT_READY' || error.code === 'FERRY_E_SHUTTING_DOWN';
  // 503 is an answer (not ready, queue full, shutting down), not a failure worth an error line.
  if (status >= 500 && status !== 503) logger.error({ reqId: request.id, url: request.url, code: error.code, err: error.cause ?? error }, error.message);
  const body = style === 'mlflow'
    ? { error_code: status === 503 ? 'TEMPORARILY_UNAVAILABLE' : status >= 500 ? 'INTERNAL_ERROR' : status === 404 ? 'RESOURCE_DOES_NOT_EXIST' : 'BAD_REQUEST', message: error.message, ferry_code: error.code }
    : { error: error.message, code: error.code };
  return { status, headers: retry ? { 'retry-after': '1' } : {}, body };
}

/** Send an error in the protocol's shape (see `errorAnswer`). */
export function sendError(reply: FastifyReply, error: FerryError, style: ErrorStyle): FastifyReply {
  const answer = errorAnswer(error, style, reply.log, { id: reply.request.id, url: reply.request.url });
  return reply.code(answer.status).headers(answer.headers).type('application/json').send(answer.body);
}

/** Rows above this many get their prediction ids in the body only (a header line stays well under 8 KiB). */
export const MAX_HEADER_IDS = 100;

/**
 * `x-prediction-id`: the logged rows' ids, comma-separated in row order (up to 100 rows; larger
 * requests find them in the body), and `x-prediction-count`: how many rows were logged.
 */
export function setPredictionHeaders(reply: FastifyReply, ids: readonly string[] | undefined): void {
  if (ids) void reply.headers(predictionHeaders(ids));
}

/** The `x-prediction-count` and `x-prediction-id` headers of logged rows (see `setPredictionHeaders`). */
export function predictionHeaders(ids: readonly string[]): Record<string, string> {
  return ids.length <= MAX_HEADER_IDS ? { 'x-prediction-count': String(ids.length), 'x-prediction-id': ids.join(',') } : { 'x-prediction-count': String(ids.length) };
}

/** The body as text (JSON and CSV routes). */
export function bodyText(req: FastifyRequest): string {
  const body = req.body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return typeof body === 'string' ? body : '';
}

/** Parse a JSON body or fail with a 400 saying where. */
export function parseJsonBody(text: string, protocol: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    if (text.trim() === '') throw ferry('FERRY_E_REQUEST_INVALID', { protocol, detail: 'the body is empty; send a JSON document' });
    throw ferry('FERRY_E_REQUEST_INVALID', { protocol, detail: `the body is not valid JSON (${(err as Error).message})` });
  }
}

/** The media type of a request without parameters, lower-cased. */
export function mediaType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}
