/**
 * Regression tests for what a hostile gRPC client could do to `ferry serve` (issue #18):
 * keyless messages decoded before the key was checked, 256 MiB messages by default, and
 * millions of empty repeated entries decoded into objects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { parseServeConfig } from '../src/serving/config.js';
import { fixture } from './helpers/fixtures.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';

const breast = fixture('breast_mlp');
const MiB = 1024 * 1024;
const INFER = '/inference.GRPCInferenceService/ModelInfer';

/** Send raw bytes as a ModelInfer message; resolve with the status (the response is not decoded). */
function sendRaw(port: number, message: Buffer, metadata = new grpc.Metadata()): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 256 * MiB });
  return new Promise((resolve) => {
    client.makeUnaryRequest(INFER, (b: Buffer) => b, (b: Buffer) => b, message, metadata, (err) => {
      client.close();
      resolve(err);
    });
  });
}

/** Protobuf: a length-delimited field. */
function field(n: number, payload: Buffer): Buffer {
  return Buffer.concat([varint(n * 8 + 2), varint(payload.length), payload]);
}

function varint(v: number): Buffer {
  const out: number[] = [];
  while (v >= 0x80) { out.push((v % 128) | 0x80); v = Math.floor(v / 128); }
  out.push(v);
  return Buffer.from(out);
}

/** model_name plus `count` empty `outputs` entries (2 bytes each on the wire). */
function emptyOutputs(count: number): Buffer {
  return Buffer.concat([field(1, Buffer.from('bc')), Buffer.alloc(count * 2, Buffer.from([0x32, 0x00]))]);
}

function assertStatus(err: grpc.ServiceError | null, code: grpc.status, ferryCode: string | RegExp, what: string): void {
  assert.ok(err, `${what}: the call succeeded`);
  assert.equal(err.code, code, `${what}: expected ${grpc.status[code]}, got ${grpc.status[err.code]} (${err.details})`);
  const got = String(err.metadata.get('x-ferry-error-code')[0] ?? '');
  if (typeof ferryCode === 'string') assert.equal(got, ferryCode, `${what}: ${err.details}`);
  else assert.match(got, ferryCode, `${what}: ${err.details}`);
}

describe('gRPC under auth', () => {
  let srv: InProcess;
  let key: string;
  before(async () => {
    srv = await startInProcess({ register: [{ path: breast.model, name: 'bc' }], flags: { auth: true }, keys: [['predict']] });
    key = srv.keys[0] ?? '';
  });
  after(() => srv.cleanup());

  it('a keyless ModelInfer is refused on its metadata, before its message is read or decoded', async () => {
    // Bytes that are not a valid message: decoding them first would answer INTERNAL.
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]);
    assertStatus(await sendRaw(srv.server.grpcPort ?? 0, garbage), grpc.status.UNAUTHENTICATED, 'FERRY_E_UNAUTHENTICATED', 'garbage, no key');
    const big = emptyOutputs(2_000_000);
    const t0 = performance.now();
    const rssBefore = process.memoryUsage().rss;
    assertStatus(await sendRaw(srv.server.grpcPort ?? 0, big), grpc.status.UNAUTHENTICATED, 'FERRY_E_UNAUTHENTICATED', '2 M empty outputs, no key');
    assert.ok(performance.now() - t0 < 2000, `refusing took ${(performance.now() - t0).toFixed(0)} ms`);
    // The client's own copy of the message is 4 MB; decoding it on the server took ~530 MB.
    assert.ok(process.memoryUsage().rss - rssBefore < 100 * MiB, `RSS grew by ${((process.memoryUsage().rss - rssBefore) / MiB).toFixed(0)} MiB`);
  });

  it('with a key, 2 M empty outputs entries are refused from the wire counts, never decoded', async () => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${key}`);
    const t0 = performance.now();
    const err = await sendRaw(srv.server.grpcPort ?? 0, emptyOutputs(2_000_000), md);
    assertStatus(err, grpc.status.RESOURCE_EXHAUSTED, 'FERRY_E_REQUEST_LIMIT', '2 M outputs');
    assert.match(err?.details ?? '', /outputs entries.*limit of 1024/);
    assert.ok(performance.now() - t0 < 2000, `refusing took ${(performance.now() - t0).toFixed(0)} ms`);
  });
});

describe('gRPC message bounds', () => {
  let srv: InProcess;
  before(async () => {
    srv = await startInProcess({ register: [{ path: breast.model, name: 'bc' }], serve: { body_limit: MiB } });
  });
  after(() => srv.cleanup());

  it('the gRPC message limit defaults to the REST body limit (it was 256 MiB)', async () => {
    assert.equal(parseServeConfig({}).grpcMaxMessageBytes, 64 * MiB);
    assert.equal(parseServeConfig({ body_limit: MiB }).grpcMaxMessageBytes, MiB);
    assert.equal(parseServeConfig({ body_limit: MiB, grpc_max_message_bytes: 8 * MiB }).grpcMaxMessageBytes, 8 * MiB);
    const over = Buffer.concat([field(1, Buffer.from('bc')), field(7, Buffer.alloc(MiB + 10))]);
    assertStatus(await sendRaw(srv.server.grpcPort ?? 0, over), grpc.status.RESOURCE_EXHAUSTED, /^$/, 'a message over the body limit');
  });

  it('typed contents that would decode past twice the message limit are refused before decoding', async () => {
    // 400 000 packed int64 varints (1 byte each) decode to 400 000 strings (~19 MB).
    const contents = field(3, Buffer.alloc(400_000, 1));
    const input = Buffer.concat([field(1, Buffer.from('input')), field(2, Buffer.from('INT64')), field(5, contents)]);
    const err = await sendRaw(srv.server.grpcPort ?? 0, Buffer.concat([field(1, Buffer.from('bc')), field(5, input)]));
    assertStatus(err, grpc.status.RESOURCE_EXHAUSTED, 'FERRY_E_REQUEST_LIMIT', 'int64 contents');
    assert.match(err?.details ?? '', /raw_input_contents/);
    // The same number of FP32 values is an ordinary request: it reaches the model (and is refused there for its shape).
    const fp32 = Buffer.concat([field(1, Buffer.from('input')), field(2, Buffer.from('FP32')), field(3, varint(1)), field(5, field(6, Buffer.alloc(400_000)))]);
    const ok = await sendRaw(srv.server.grpcPort ?? 0, Buffer.concat([field(1, Buffer.from('bc')), field(5, fp32)]));
    assert.notEqual(String(ok?.metadata.get('x-ferry-error-code')[0]), 'FERRY_E_REQUEST_LIMIT', ok?.details);
  });
});
