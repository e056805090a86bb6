/**
 * Open Inference Protocol v2 over gRPC (inference.GRPCInferenceService) against a real
 * `ferry serve` process, with a real grpc-js client generated from the same proto: health,
 * metadata, typed and raw inference matching the reference predictions, requested outputs,
 * versions and aliases, messages above gRPC's default 4 MiB, and errors as status codes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { runCli } from './helpers/cli.js';
import { ROOT, tempDir } from './helpers/env.js';
import { assertMatchesReference, fixture, type Fixture } from './helpers/fixtures.js';
import { startServe, type ServeProcess } from './helpers/server.js';

const breast = fixture('breast_mlp');
const wine = fixture('wine_two_inputs');
const iris = fixture('iris_string');

// ---- wire shapes as the client decodes them (keepCase, longs as strings, defaults) ----

interface Contents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: (string | number)[];
  uint_contents?: number[];
  uint64_contents?: (string | number)[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}
interface InputTensor { name: string; datatype: string; shape: (number | string)[]; contents?: Contents }
interface InferRequest { model_name: string; model_version?: string; id?: string; inputs: InputTensor[]; outputs?: { name: string }[]; raw_input_contents?: Buffer[] }
interface OutputTensor { name: string; datatype: string; shape: string[]; contents: Contents | null }
interface InferResponse { model_name: string; model_version: string; id: string; outputs: OutputTensor[]; raw_output_contents: Buffer[] }
interface TensorMeta { name: string; datatype: string; shape: string[] }
interface ModelMetadata { name: string; versions: string[]; platform: string; inputs: TensorMeta[]; outputs: TensorMeta[] }

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type Client = grpc.Client & Record<string, (req: object, md: grpc.Metadata, cb: Callback) => grpc.ClientUnaryCall>;

const MiB = 1024 * 1024;

function makeClient(port: number): Client {
  const definition = protoLoader.loadSync(join(ROOT, 'proto/open_inference_grpc.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  return new pkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * MiB,
    'grpc.max_receive_message_length': 64 * MiB,
  }) as unknown as Client;
}

/** One unary call: the response and the server's initial metadata (response headers). */
function rpc<T>(client: Client, method: string, request: object, metadata = new grpc.Metadata()): Promise<{ res: T; headers: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    const call = client[method]!.call(client, request, metadata, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve({ res: res as T, headers })));
    call.on('metadata', (md: grpc.Metadata) => { headers = md; });
  });
}

/** Assert a call fails with this status code and a message matching `message`. */
async function rejects(promise: Promise<unknown>, code: grpc.status, message: RegExp, what: string): Promise<void> {
  await assert.rejects(promise, (err: grpc.ServiceError) => {
    assert.equal(err.code, code, `${what}: expected ${grpc.status[code]}, got ${grpc.status[err.code]} (${err.details})`);
    assert.match(err.details, message, what);
    assert.match(String(err.metadata.get('x-ferry-error-code')[0]), /^FERRY_E_/, `${what}: error code in trailers`);
    return true;
  }, what);
}

// ---- fixture data as gRPC tensors ----

/** Rows of a fixture's input.csv by column. */
function csvRows(f: Fixture): Record<string, string>[] {
  const [head, ...lines] = readFileSync(f.input, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
}

interface Plain { name: string; dtype: string; shape: number[]; values: (number | string)[] }

/** The fixture's input tensors (meta.json's input columns over input.csv), repeated `times`. */
function plainInputs(f: Fixture, times = 1): Plain[] {
  const rows = csvRows(f);
  return f.meta.inputs.map((spec) => {
    const cols = f.meta.input_columns[spec.name]!;
    const once = rows.flatMap((r) => cols.map((c) => (spec.dtype === 'string' ? r[c]! : Number(r[c]))));
    const values = times === 1 ? once : Array.from({ length: times }, () => once).flat();
    return { name: spec.name, dtype: spec.dtype, shape: [rows.length * times, cols.length], values };
  });
}

const DATATYPE: Record<string, string> = { float32: 'FP32', int64: 'INT64', string: 'BYTES' };

/** Inputs with typed contents. */
function typedInputs(f: Fixture): InputTensor[] {
  return plainInputs(f).map((p) => ({
    name: p.name,
    datatype: DATATYPE[p.dtype]!,
    shape: p.shape,
    contents: p.dtype === 'float32' ? { fp32_contents: p.values as number[] }
      : p.dtype === 'int64' ? { int64_contents: (p.values as number[]).map(String) }
        : { bytes_contents: (p.values as string[]).map((s) => Buffer.from(s)) },
  }));
}

/** Little-endian raw bytes of values (BYTES: 4-byte length prefix per element). */
function rawBytes(dtype: string, values: readonly (number | string)[]): Buffer {
  if (dtype === 'float32') return Buffer.from(Float32Array.from(values as number[]).buffer);
  if (dtype === 'int64') return Buffer.from(BigInt64Array.from(values as number[], (v) => BigInt(v)).buffer);
  return Buffer.concat((values as string[]).map((s) => {
    const b = Buffer.from(s);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return Buffer.concat([len, b]);
  }));
}

/** Inputs as raw_input_contents (one buffer per input, in order). */
function rawRequest(f: Fixture, times = 1): Pick<InferRequest, 'inputs' | 'raw_input_contents'> {
  const plain = plainInputs(f, times);
  return {
    inputs: plain.map((p) => ({ name: p.name, datatype: DATATYPE[p.dtype]!, shape: p.shape })),
    raw_input_contents: plain.map((p) => rawBytes(p.dtype, p.values)),
  };
}

/** Flat values of an output, from its typed contents or its raw buffer. */
function valuesOf(o: OutputTensor, raw?: Buffer): (number | string)[] {
  if (raw) {
    const copy = Uint8Array.from(raw).buffer; // aligned
    if (o.datatype === 'FP32') return Array.from(new Float32Array(copy));
    if (o.datatype === 'INT64') return Array.from(new BigInt64Array(copy), Number);
    assert.equal(o.datatype, 'BYTES');
    const out: string[] = [];
    for (let p = 0; p < raw.length;) { const n = raw.readUInt32LE(p); out.push(raw.subarray(p + 4, p + 4 + n).toString()); p += 4 + n; }
    return out;
  }
  const c = o.contents!;
  if (o.datatype === 'FP32') return c.fp32_contents!;
  if (o.datatype === 'INT64') return c.int64_contents!.map(Number);
  assert.equal(o.datatype, 'BYTES');
  return c.bytes_contents!.map((b) => b.toString());
}

/** Response outputs → per-row records, for assertMatchesReference. */
function rowsOf(res: InferResponse): Record<string, unknown>[] {
  const raw = res.raw_output_contents.length > 0;
  if (raw) assert.equal(res.raw_output_contents.length, res.outputs.length, 'one raw buffer per output');
  const columns = res.outputs.map((o, i) => {
    const shape = o.shape.map(Number);
    const values = valuesOf(o, raw ? res.raw_output_contents[i] : undefined);
    assert.equal(values.length, shape.reduce((a, b) => a * b, 1), `${o.name}: element count matches shape [${shape.join(', ')}]`);
    return { name: o.name, rows: shape[0]!, size: shape.slice(1).reduce((a, b) => a * b, 1), values };
  });
  const n = columns[0]?.rows ?? 0;
  return Array.from({ length: n }, (_, r) => Object.fromEntries(columns.map((c) => {
    const slice = c.values.slice(r * c.size, (r + 1) * c.size);
    return [c.name, c.size === 1 ? slice[0] : slice];
  })));
}

describe('Open Inference Protocol v2 (gRPC)', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let server: ServeProcess;
  let client: Client;
  const call = <T>(method: string, request: object, md?: grpc.Metadata) => rpc<T>(client, method, request, md);
  const infer = (request: InferRequest, md?: grpc.Metadata) => call<InferResponse>('ModelInfer', request, md);

  before(async () => {
    // bc:1 (@champion) and bc:2 (latest) are the same network; wine and iris have one version each.
    for (const args of [['--name', 'bc', '--alias', 'champion'], ['--name', 'bc']]) {
      const r = await runCli(['register', breast.model, ...args], env);
      assert.equal(r.code, 0, r.stderr);
    }
    await Promise.all([[wine, 'wine'], [iris, 'iris']].map(async ([f, name]) => {
      const r = await runCli(['register', (f as Fixture).model, '--name', name as string], env);
      assert.equal(r.code, 0, r.stderr);
    }));
    server = await startServe(env);
    assert.ok(server.grpcPort, 'the server reports its gRPC port');
    client = makeClient(server.grpcPort);
  });
  after(async () => {
    client?.close();
    const code = await server?.stop();
    tmp.cleanup();
    assert.equal(code, 0, 'SIGTERM drains and exits 0');
  });

  it('ServerLive, ServerReady, ServerMetadata', async () => {
    assert.deepEqual((await call('ServerLive', {})).res, { live: true });
    assert.deepEqual((await call('ServerReady', {})).res, { ready: true });
    const meta = (await call<{ name: string; version: string; extensions: string[] }>('ServerMetadata', {})).res;
    assert.equal(meta.name, 'ferry');
    assert.match(meta.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(meta.extensions, ['binary_tensor_data', 'model_repository']);
  });

  it('ModelReady and ModelMetadata (by name, version number and alias)', async () => {
    for (const [name, version, ready] of [['bc', '', true], ['bc', '1', true], ['bc', '2', true], ['bc', 'champion', true], ['wine', '', true], ['nope', '', false], ['bc', 'nope', false]] as const) {
      assert.deepEqual((await call('ModelReady', { name, version })).res, { ready }, `${name}@${version}`);
    }
    const m = (await call<ModelMetadata>('ModelMetadata', { name: 'wine' })).res;
    assert.equal(m.name, 'wine');
    assert.equal(m.platform, 'onnxruntime_onnx');
    assert.deepEqual(m.versions, ['1']);
    assert.deepEqual(m.inputs, [{ name: 'numeric', datatype: 'FP32', shape: ['-1', '12'] }, { name: 'bucket', datatype: 'INT64', shape: ['-1', '1'] }]);
    assert.deepEqual(m.outputs, [{ name: 'probabilities', datatype: 'FP32', shape: ['-1', '3'] }, { name: 'label', datatype: 'INT64', shape: ['-1'] }]);
    const iris1 = (await call<ModelMetadata>('ModelMetadata', { name: 'iris', version: '1' })).res;
    assert.deepEqual(iris1.inputs.map((i) => i.datatype), ['FP32', 'BYTES']);
    assert.deepEqual(iris1.outputs.map((o) => `${o.name}:${o.datatype}`), ['species:BYTES', 'probabilities:FP32']);
    assert.deepEqual((await call<ModelMetadata>('ModelMetadata', { name: 'bc', version: 'champion' })).res.versions.sort(), ['1', '2']);
    await rejects(call('ModelMetadata', { name: 'nope' }), grpc.status.NOT_FOUND, /Model "nope" is not served here\. Served models: "bc", "iris", "wine"/, 'metadata of an unknown model');
    await rejects(call('ModelMetadata', { name: 'bc', version: '9' }), grpc.status.NOT_FOUND, /no version 9/, 'metadata of an unknown version');
  });

  for (const [f, name, what] of [[breast, 'bc', 'FP32'], [wine, 'wine', 'FP32 + INT64 inputs'], [iris, 'iris', 'FP32 + BYTES input, BYTES output']] as const) {
    it(`${name}: typed contents (${what}) match the reference`, async () => {
      const { res, headers } = await infer({ model_name: name, id: `req-${name}`, inputs: typedInputs(f) });
      assert.equal(res.model_name, name);
      assert.equal(res.id, `req-${name}`);
      assert.equal(res.model_version, name === 'bc' ? '2' : '1');
      assert.deepEqual(headers.get('x-ferry-model-version'), [res.model_version]);
      assert.deepEqual(res.raw_output_contents, [], 'typed request → typed answer');
      assert.deepEqual(res.outputs.map((o) => o.name), f.meta.outputs.map((o) => o.name), 'all outputs, in model order');
      assert.deepEqual(res.outputs.map((o) => o.datatype), f.meta.outputs.map((o) => DATATYPE[o.dtype]));
      assertMatchesReference(f, rowsOf(res));
    });
  }

  it('raw_input_contents are answered with raw_output_contents (FP32, and INT64 / BYTES inputs)', async () => {
    for (const [f, name] of [[breast, 'bc'], [wine, 'wine'], [iris, 'iris']] as const) {
      const { res } = await infer({ model_name: name, ...rawRequest(f) });
      assert.equal(res.raw_output_contents.length, res.outputs.length, name);
      assert.ok(res.outputs.every((o) => o.contents === null), `${name}: no typed contents next to raw`);
      assert.match(res.id, /^[0-9a-f-]{36}$/, 'a request id is made up when none is given');
      assertMatchesReference(f, rowsOf(res));
    }
  });

  it('requested outputs: only those, in the requested order', async () => {
    const one = (await infer({ model_name: 'bc', inputs: typedInputs(breast), outputs: [{ name: 'label' }] })).res;
    assert.deepEqual(one.outputs.map((o) => o.name), ['label']);
    assert.deepEqual(valuesOf(one.outputs[0]!), breast.expected.outputs.label);
    const both = (await infer({ model_name: 'iris', ...rawRequest(iris), outputs: [{ name: 'probabilities' }, { name: 'species' }] })).res;
    assert.deepEqual(both.outputs.map((o) => o.name), ['probabilities', 'species']);
    assert.deepEqual(valuesOf(both.outputs[1]!, both.raw_output_contents[1]), iris.expected.outputs.species);
  });

  it('model_version: a number or an alias picks the version; none → latest', async () => {
    for (const [version, answered] of [['', '2'], ['1', '1'], ['2', '2'], ['champion', '1'], ['latest', '2']]) {
      const { res, headers } = await infer({ model_name: 'bc', model_version: version, inputs: typedInputs(breast), outputs: [{ name: 'label' }] });
      assert.equal(res.model_version, answered, `model_version "${version}"`);
      assert.deepEqual(headers.get('x-ferry-model-version'), [answered]);
      assert.deepEqual(valuesOf(res.outputs[0]!), breast.expected.outputs.label);
    }
  });

  it('messages larger than gRPC\'s default 4 MiB are accepted (raw and typed)', async () => {
    const times = 800; // 50 rows × 800 = 40 000 rows × 30 FP32 ≈ 4.8 MB
    const rows = 50 * times;
    const raw = rawRequest(breast, times);
    assert.ok(raw.raw_input_contents![0]!.length > 4 * MiB);
    const big = (await infer({ model_name: 'bc', ...raw })).res;
    assert.deepEqual(big.outputs.map((o) => [o.name, o.shape]), [['label', [String(rows)]], ['probabilities', [String(rows), '2']]]);
    const got = rowsOf(big);
    assertMatchesReference(breast, got.slice(0, 50));
    assertMatchesReference(breast, got.slice(rows - 50));
    const [p] = plainInputs(breast, times);
    const typed = (await infer({ model_name: 'bc', inputs: [{ name: 'input', datatype: 'FP32', shape: p!.shape, contents: { fp32_contents: p!.values as number[] } }], outputs: [{ name: 'label' }] })).res;
    assert.deepEqual(valuesOf(typed.outputs[0]!).slice(rows - 50), breast.expected.outputs.label);
  });

  it('bad requests → INVALID_ARGUMENT / NOT_FOUND naming the problem; the server stays up', async () => {
    const ones = (n: number) => new Array<number>(n).fill(1);
    const fp32 = (shape: number[], values: number[]): InputTensor => ({ name: 'input', datatype: 'FP32', shape, contents: { fp32_contents: values } });
    const wineNumeric = typedInputs(wine)[0]!;
    const INVALID = grpc.status.INVALID_ARGUMENT;
    const NOT_FOUND = grpc.status.NOT_FOUND;
    const cases: [string, InferRequest, grpc.status, RegExp][] = [
      ['unknown model', { model_name: 'nope', inputs: [fp32([1, 30], ones(30))] }, NOT_FOUND, /Model "nope" is not served here/],
      ['unknown version', { model_name: 'bc', model_version: '9', inputs: [fp32([1, 30], ones(30))] }, NOT_FOUND, /no version 9/],
      ['unknown alias', { model_name: 'bc', model_version: 'staging', inputs: [fp32([1, 30], ones(30))] }, NOT_FOUND, /no alias "staging"/],
      ['no model name', { model_name: '', inputs: [fp32([1, 30], ones(30))] }, INVALID, /"model_name" is required/],
      ['no inputs', { model_name: 'bc', inputs: [] }, INVALID, /"inputs" must hold at least one tensor/],
      ['wrong shape', { model_name: 'bc', inputs: [fp32([1, 3], [1, 2, 3])] }, INVALID, /Input "input" expects shape \[N, 30\] but got \[1, 3\]/],
      ['negative dimension', { model_name: 'bc', inputs: [fp32([-1, 30], ones(30))] }, INVALID, /input "input" needs "shape": a list of non-negative integers/],
      ['wrong datatype', { model_name: 'bc', inputs: [{ name: 'input', datatype: 'FP64', shape: [1, 30], contents: { fp64_contents: ones(30) } }] }, INVALID, /Input "input" must be float32 but the request sent float64/],
      ['unknown datatype', { model_name: 'bc', inputs: [{ name: 'input', datatype: 'FLOAT', shape: [1, 30], contents: { fp32_contents: ones(30) } }] }, INVALID, /input "input" has datatype "FLOAT"; use one of/],
      ['contents in the wrong field', { model_name: 'bc', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], contents: { fp64_contents: ones(30) } }] }, INVALID, /input "input" is FP32 but carries data in contents\.fp64_contents; FP32 data goes in contents\.fp32_contents/],
      ['too few elements', { model_name: 'bc', inputs: [fp32([2, 30], ones(59))] }, INVALID, /input "input" has 59 element\(s\) in contents\.fp32_contents but shape \[2, 30\] needs 60/],
      ['no contents', { model_name: 'bc', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30] }] }, INVALID, /input "input" has 0 element\(s\) in contents\.fp32_contents but shape \[1, 30\] needs 30/],
      ['raw byte count', { model_name: 'bc', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30] }], raw_input_contents: [Buffer.alloc(4 * 29)] }, INVALID, /input "input" has 116 byte\(s\) of data but shape \[1, 30\] of FP32 needs 120/],
      ['raw count ≠ inputs', { model_name: 'wine', ...rawRequest(wine), raw_input_contents: rawRequest(wine).raw_input_contents!.slice(0, 1) }, INVALID, /raw_input_contents has 1 entry but the request has 2 input\(s\)/],
      ['raw and typed mixed', { model_name: 'bc', inputs: [fp32([1, 30], ones(30))], raw_input_contents: [Buffer.alloc(120)] }, INVALID, /input "input" has contents but the request uses raw_input_contents/],
      ['INT32 out of range for INT8', { model_name: 'bc', inputs: [{ name: 'input', datatype: 'INT8', shape: [1, 1], contents: { int_contents: [300] } }] }, INVALID, /input "input" element 0 \(300\) is out of range for INT8/],
      ['missing input', { model_name: 'wine', inputs: [wineNumeric] }, INVALID, /The model needs input "bucket" \(int64 \[N, 1\]\); the request has "numeric"/],
      ['unknown input', { model_name: 'bc', inputs: [{ ...fp32([1, 30], ones(30)), name: 'other' }] }, INVALID, /The model has no input "other"/],
      ['input twice', { model_name: 'bc', inputs: [fp32([1, 30], ones(30)), fp32([1, 30], ones(30))] }, INVALID, /input "input" is given twice/],
      ['unknown output', { model_name: 'bc', inputs: [fp32([1, 30], ones(30))], outputs: [{ name: 'nope' }] }, INVALID, /The model has no output "nope"\. Outputs: "label", "probabilities"/],
      ['output twice', { model_name: 'bc', inputs: [fp32([1, 30], ones(30))], outputs: [{ name: 'label' }, { name: 'label' }] }, INVALID, /output "label" is requested twice/],
      ['FP16 as typed contents', { model_name: 'bc', inputs: [{ name: 'input', datatype: 'FP16', shape: [1, 30], contents: {} }] }, INVALID, /FP16, which has no typed contents field; send it in raw_input_contents/],
    ];
    for (const [what, request, code, message] of cases) await rejects(infer(request), code, message, what);

    assert.deepEqual((await call('ServerLive', {})).res, { live: true });
    const ok = (await infer({ model_name: 'bc', inputs: typedInputs(breast) })).res;
    assertMatchesReference(breast, rowsOf(ok));
  });

  it('gRPC requests are counted in /metrics with protocol "oip-grpc"', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /ferry_requests_total\{model="bc",version="2",protocol="oip-grpc",code="200"\} \d+/);
    assert.match(text, /ferry_requests_total\{model="bc",version="2",protocol="oip-grpc",code="400"\} \d+/);
    assert.match(text, /ferry_requests_total\{model="bc",version="1",protocol="oip-grpc",code="200"\} \d+/);
  });
});
