/**
 * Binary-tensor request bodies (OIP REST binary extension): read chunk by chunk into one buffer
 * where the binary part is 8-byte aligned, so tensors are views of the body (no copy); large ones
 * on shared memory, so a runtime worker thread shares them (no clone on the event loop) — and
 * onnxruntime, which refuses shared memory, still scores them, inline and in a worker. Body limits
 * and their errors stay Fastify's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Tensor } from '../src/core/tensor.js';
import { onnxRuntime } from '../src/runtimes/onnx/onnx-runtime.js';
import { ThreadedRuntime } from '../src/runtimes/threaded.js';
import { parseServeConfig } from '../src/serving/config.js';
import { readBody, SHARED_BODY_BYTES } from '../src/serving/http/body-reader.js';
import { createHttpApp } from '../src/serving/http/fastify.js';
import { parseInferRequest } from '../src/serving/http/oip.js';
import { fixture } from './helpers/fixtures.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';

const cnn = fixture('digits_cnn');

/** `n` 8×8 images of varied pixels (not all equal, so a mix-up of rows would show). */
function images(n: number): Float32Array {
  const out = new Float32Array(n * 64);
  for (let i = 0; i < out.length; i++) out[i] = ((i * 7919) % 17) / 16;
  return out;
}

/** A binary infer body whose JSON header has an odd length (the binary part starts unaligned in the request). */
function binaryRequest(data: Float32Array, rows: number): { header: Buffer; body: Buffer } {
  const doc = { id: 'x', inputs: [{ name: 'image', shape: [rows, 1, 8, 8], datatype: 'FP32', parameters: { binary_data_size: data.byteLength } }], outputs: [{ name: 'logits' }, { name: 'label' }] };
  let header = Buffer.from(JSON.stringify(doc));
  if (header.length % 2 === 0) header = Buffer.from(JSON.stringify({ ...doc, id: 'xy' }));
  return { header, body: Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]) };
}

/** `readBody` over a stream fed `body` in `chunk`-byte pieces. */
function readInChunks(body: Buffer, headers: Record<string, string>, chunk: number, limit = 1 << 30): Promise<Buffer> {
  const stream = new PassThrough();
  const read = new Promise<Buffer>((resolve, reject) => readBody(stream, headers, limit, (err, b) => (err ? reject(err) : resolve(b as Buffer))));
  for (let at = 0; at < body.length; at += chunk) stream.write(body.subarray(at, at + chunk));
  stream.end();
  return read;
}

describe('binary request bodies', () => {
  it('are read into one buffer where the binary part is aligned, and their tensors view it (no copy)', async () => {
    const data = images(40);
    const { header, body } = binaryRequest(data, 40);
    const headers = { 'content-length': String(body.length), 'inference-header-content-length': String(header.length) };
    const read = await readInChunks(body, headers, 1000);
    assert.ok(read.equals(body));
    assert.equal((read.byteOffset + header.length) % 8, 0, 'the binary part starts 8-byte aligned');
    assert.ok(read.buffer instanceof ArrayBuffer, 'a small body is ordinary memory');
    const image = parseInferRequest(read, headers).inputs.image as Tensor;
    const pixels = image.data as Float32Array;
    assert.equal(pixels.buffer, read.buffer, 'the tensor is a view of the body');
    assert.equal(pixels.byteOffset, read.byteOffset + header.length);
    assert.deepEqual(pixels, data);
  });

  it(`from ${SHARED_BODY_BYTES} bytes on are shared memory, still viewed by their tensors`, async () => {
    const rows = Math.ceil(SHARED_BODY_BYTES / 256);
    const data = images(rows);
    const { header, body } = binaryRequest(data, rows);
    const headers = { 'content-length': String(body.length), 'inference-header-content-length': String(header.length) };
    const read = await readInChunks(body, headers, 65_536);
    assert.ok(read.buffer instanceof SharedArrayBuffer);
    assert.ok(read.equals(body));
    const pixels = (parseInferRequest(read, headers).inputs.image as Tensor).data as Float32Array;
    assert.equal(pixels.buffer, read.buffer);
    assert.deepEqual(pixels, data);
    // A large body without binary tensors is parsed into new arrays: no shared memory for it.
    const json = await readInChunks(Buffer.alloc(SHARED_BODY_BYTES, 0x20), { 'content-length': String(SHARED_BODY_BYTES) }, 65_536);
    assert.ok(json.buffer instanceof ArrayBuffer);
  });

  it('keep Fastify\'s errors: too large (by Content-Length or by bytes), a length mismatch', async () => {
    const body = Buffer.alloc(100, 1);
    await assert.rejects(readInChunks(body, { 'content-length': '100' }, 10, 99), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    await assert.rejects(readInChunks(body, {}, 10, 99), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    await assert.rejects(readInChunks(body, { 'content-length': '101', 'inference-header-content-length': '3' }, 10), { code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', statusCode: 400 });
    await assert.rejects(readInChunks(body, { 'content-length': '99' }, 10), { code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', statusCode: 400 });
    assert.ok((await readInChunks(body, {}, 10, 100)).equals(body), 'a chunked body at the limit');
  });
});

describe('body limits over HTTP: the same answers as Fastify\'s own buffer parser', () => {
  const limit = 4096;
  const config = parseServeConfig({ port: 0, body_limit: limit }, {});
  const echo = (app: FastifyInstance) => app.post('/echo', (req) => ({ bytes: (req.body as Buffer).length }));
  const ours = createHttpApp(config, pino({ level: 'silent' }));
  const fastifys = createHttpApp(config, pino({ level: 'silent' }));
  fastifys.removeAllContentTypeParsers();
  fastifys.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const urls: string[] = [];
  before(async () => {
    for (const app of [ours, fastifys]) {
      echo(app);
      urls.push(`${await app.listen({ port: 0, host: '127.0.0.1' })}/echo`);
    }
  });
  after(async () => {
    await ours.close();
    await fastifys.close();
  });

  const cases: [string, () => RequestInit][] = [
    ['at the limit', () => ({ method: 'POST', body: Buffer.alloc(limit) })],
    ['over the limit by Content-Length', () => ({ method: 'POST', body: Buffer.alloc(limit + 1) })],
    ['binary, over the limit', () => ({ method: 'POST', headers: { 'inference-header-content-length': '7' }, body: Buffer.alloc(limit + 1) })],
    ['chunked, over the limit', () => ({ method: 'POST', duplex: 'half', body: new Blob([Buffer.alloc(limit), Buffer.alloc(10)]).stream() })],
    ['chunked, within the limit', () => ({ method: 'POST', duplex: 'half', body: new Blob([Buffer.alloc(100), Buffer.alloc(10)]).stream() })],
  ];
  for (const [name, init] of cases) {
    it(name, async () => {
      const [a, b] = await Promise.all(urls.map(async (url) => {
        const res = await fetch(url, init());
        return { status: res.status, body: await res.json() };
      }));
      assert.deepEqual(a, b);
    });
  }

  it('the over-limit answer is the catalog\'s 413', async () => {
    const res = await fetch(urls[0] as string, { method: 'POST', body: Buffer.alloc(limit + 1) });
    assert.equal(res.status, 413);
    assert.equal((await res.json() as { code: string }).code, 'FERRY_E_PAYLOAD_TOO_LARGE');
  });
});

describe('shared-memory inputs through the ONNX runtime', () => {
  const rows = 300;
  const normal = images(rows);
  const shared = new Float32Array(new SharedArrayBuffer(normal.byteLength + 8), 8, normal.length);
  shared.set(normal);
  const input = (data: Float32Array): Record<string, Tensor> => ({ image: { dtype: 'float32', shape: [rows, 1, 8, 8], data } });
  const bytes = readFileSync(cnn.model);

  it('onnxruntime-node itself refuses them (why the runtime copies them)', async () => {
    // If this starts passing, onnxruntime-node accepts shared memory and onnx-session.ts's copy can go.
    const session = await ort.InferenceSession.create(bytes);
    try {
      await assert.rejects(session.run({ image: new ort.Tensor('float32', shared, [rows, 1, 8, 8]) }), /Invalid argument/);
    } finally {
      await session.release();
    }
  });

  it('score as ordinary inputs do, on the calling thread and in a worker (then on its inline copy)', async () => {
    const local = await onnxRuntime.load(bytes, {}, 'cnn');
    const threaded = await ThreadedRuntime.start(onnxRuntime, bytes, { workers: 1, inlineBelowMs: 1e9 }, 'cnn');
    try {
      const expected = await local.predict(input(normal));
      assert.deepEqual(await local.predict(input(shared)), expected);
      // The first call runs in the worker (no time per row measured yet); the next, inline.
      assert.deepEqual(await threaded.predict(input(shared)), expected);
      assert.deepEqual(await threaded.predict(input(shared)), expected);
      assert.deepEqual(shared, normal, 'the request\'s memory is left as it was');
    } finally {
      await local.close();
      await threaded.close();
    }
  });
});

describe('a large binary request end to end (worker thread, shared body)', () => {
  let srv: InProcess;
  before(async () => {
    srv = await startInProcess({ register: [{ path: cnn.model, name: 'cnn' }], serve: { runtime_workers: 1 } });
  });
  after(() => srv.cleanup());

  it('answers what the same images sent as JSON get, through the front route and through Fastify', async () => {
    const rows = Math.ceil((2 * SHARED_BODY_BYTES) / 256);
    const data = images(rows);
    const { header, body } = binaryRequest(data, rows);
    const url = `${srv.url}/v2/models/cnn/infer`;
    const json = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'image', shape: [rows, 1, 8, 8], datatype: 'FP32', data: Array.from(data) }], outputs: [{ name: 'logits' }, { name: 'label' }] }) });
    assert.equal(json.status, 200);
    const want = (await json.json() as { outputs: unknown[] }).outputs;
    // application/json is taken by the front route (oip-front.ts); no content type goes through Fastify's parser.
    for (const type of ['application/json', undefined]) {
      const res = await fetch(url, { method: 'POST', headers: { 'inference-header-content-length': String(header.length), ...(type ? { 'content-type': type } : {}) }, body });
      const answer = await res.json() as { outputs: unknown[] };
      assert.equal(res.status, 200, JSON.stringify(answer));
      assert.deepEqual(answer.outputs, want, `content type ${String(type)}`);
    }
  });
});
