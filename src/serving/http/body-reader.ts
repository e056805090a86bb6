import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { errorCodes } from 'fastify';

/**
 * Request bodies read as bytes, for Fastify's parsers and the front routes alike. A body of
 * known length that arrives in several chunks (or carries binary tensors) is copied chunk by
 * chunk, as it arrives, into one buffer allocated from Content-Length — never concatenated at
 * the end, which held the event loop ~75 ms for a 38 MB body. A binary-tensor body
 * (Inference-Header-Content-Length) is placed so that its binary part starts 8-byte aligned, so
 * its tensors are views of the body, not copies (oip-codec's `tensorFromBytes`); from
 * `SHARED_BODY_BYTES` on it is a SharedArrayBuffer, so handing the tensors to a runtime worker
 * thread shares the bytes instead of cloning them on the event loop (runtimes that cannot take
 * shared memory copy on their own thread: see onnx-session.ts).
 */

/** Binary-tensor bodies from this size on are read into shared memory. */
export const SHARED_BODY_BYTES = 1024 * 1024;

/** Whole body or why not; errors are Fastify's own (413, Content-Length mismatch), so its error handler maps them as before. */
export type BodyDone = (err: Error | null, body?: Buffer) => void;

/**
 * Read `payload` whole, as Fastify's `parseAs: 'buffer'` does — the same limit checks and errors:
 * a Content-Length over `limit` or more bytes than `limit` is FST_ERR_CTP_BODY_TOO_LARGE, a body
 * shorter or longer than its Content-Length FST_ERR_CTP_INVALID_CONTENT_LENGTH, a stream error
 * a 400 — but into one buffer (see above). A body without Content-Length (chunked) is gathered
 * and concatenated; a non-binary body that comes in one chunk is kept as that chunk.
 */
export function readBody(payload: Readable, headers: IncomingHttpHeaders, limit: number, done: BodyDone): void {
  const length = Number(headers['content-length']);
  if (length > limit) {
    done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  const known = Number.isInteger(length) && length >= 0;
  const binaryAt = known ? binaryOffset(headers, length) : undefined;
  let received = 0;
  let target: Buffer | undefined;
  let chunks: Buffer[] | undefined;

  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += bytes.length;
    if (received > limit) {
      stop();
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    if (!target && !chunks) {
      if (known && (bytes.length !== length || binaryAt !== undefined)) target = bodyBuffer(length, binaryAt);
      else chunks = [];
    }
    if (!target) chunks?.push(bytes);
    // More than Content-Length said never fits: counted only, refused at the end.
    else if (received <= target.length) bytes.copy(target, received - bytes.length);
  };
  const onEnd = (err?: Error & { statusCode?: number }) => {
    stop();
    if (err != null) {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      done(err);
      return;
    }
    if (known && received !== length) {
      done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    done(null, target ?? (chunks?.length === 1 ? chunks[0] : Buffer.concat(chunks ?? [], received)));
  };
  function stop(): void {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onEnd);
  }
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onEnd);
  payload.resume();
}

/**
 * A buffer of `length` bytes for a body; with `binaryAt` (where the binary tensors start), placed
 * so that byte is 8-byte aligned, and shared memory from `SHARED_BODY_BYTES` on. Large
 * allocations are not zero-filled page by page up front: the kernel commits pages as the copy
 * reaches them, so a client that announces a large body and sends little costs address space,
 * not memory.
 */
export function bodyBuffer(length: number, binaryAt: number | undefined): Buffer {
  if (binaryAt === undefined) return Buffer.allocUnsafeSlow(length);
  const pad = (8 - (binaryAt % 8)) % 8;
  if (length >= SHARED_BODY_BYTES) return Buffer.from(new SharedArrayBuffer(length + pad), pad, length);
  // allocUnsafeSlow: a buffer of its own, starting at offset 0 of its memory (not in the pool).
  return Buffer.allocUnsafeSlow(length + pad).subarray(pad);
}

/** Inference-Header-Content-Length when it fits the body (otherwise the request is refused later, by the parser). */
function binaryOffset(headers: IncomingHttpHeaders, length: number): number | undefined {
  const value = headers['inference-header-content-length'];
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 && n <= length ? n : undefined;
}
