import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { asFerryError, ferry, GrpcStatus } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import type { ServingContext } from '../context.js';
import { modelMetadata } from '../metadata.js';
import { OIP_EXTENSIONS } from '../http/oip.js';
import { checkShape, datatypeOf, dtypeOf, tensorFromBytes, tensorToBytes } from '../oip-codec.js';
import { BYTES_PER_ELEMENT } from '../../core/tensor.js';
import { EXPLAIN_OUTPUTS, EXPLAIN_STAGE, explainOptions } from '../../scoring/explain-stage.js';
import { contentsFromTensor, hasContents, hasContentsField, tensorFromContents } from './contents.js';
import { alignedInPlace, authInterceptor, boundedDeserializer, isRefused, type MessageLimits } from './guard.js';
import type {
  Empty, InferParameter, ModelInferRequest, ModelInferResponse, ModelMetadataRequest, ModelMetadataResponse, ModelReadyRequest, ModelReadyResponse,
  ServerLiveResponse, ServerMetadataResponse, ServerReadyResponse,
} from './messages.js';

const PROTOCOL = 'Open Inference Protocol (gRPC)';

/** The service definition, a verbatim copy of the OIP proto (same path from src/ under tsx and from dist/). */
export const PROTO_PATH = fileURLToPath(new URL('../../../proto/open_inference_grpc.proto', import.meta.url));

/** How the proto is loaded; messages.ts describes the decoded shapes these options give. */
export const PROTO_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

const SERVICE = 'inference.GRPCInferenceService';

let service: grpc.ServiceDefinition | undefined;

/** Bounds on one ModelInfer message's repeated fields (no real request comes near them). */
export const INFER_LIMITS: Omit<MessageLimits, 'maxDecodedBytes'> = { maxEntries: 1024, maxDims: 64 };

/** The `inference.GRPCInferenceService` definition, loaded once. */
export function inferenceService(): grpc.ServiceDefinition {
  if (service) return service;
  let pkg: protoLoader.PackageDefinition;
  try {
    pkg = protoLoader.loadSync(PROTO_PATH, PROTO_OPTIONS);
  } catch (err) {
    throw ferry('FERRY_E_INTERNAL', { detail: `cannot load the gRPC service definition ${PROTO_PATH}: ${err instanceof Error ? err.message : String(err)}` }, err);
  }
  const def = pkg[SERVICE];
  if (!def) throw ferry('FERRY_E_INTERNAL', { detail: `${PROTO_PATH} defines no ${SERVICE}` });
  service = def as grpc.ServiceDefinition;
  return service;
}

/** Start the Open Inference Protocol gRPC server; resolves with the bound port (config port 0 = a free one). */
export async function startGrpc(ctx: ServingContext): Promise<{ server: grpc.Server; port: number }> {
  const { config } = ctx;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.grpcMaxMessageBytes,
    'grpc.max_send_message_length': config.grpcMaxMessageBytes,
    // grpc-js keeps channelz statistics for every call unless told not to; Ferry serves no
    // channelz service, so they were never read (off: 68–73 µs of server CPU a small request at
    // concurrency 64 against 71–76, two runs each).
    'grpc.enable_channelz': 0,
    // The key is checked on the call's metadata, before its message is read or decoded.
    interceptors: [authInterceptor(ctx.auth, 'predict', (err) => statusOf(ctx, 'auth', err))],
  });
  server.addService(boundedService(inferenceService(), config.grpcMaxMessageBytes), handlers(ctx));
  const credentials = config.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: readPem(config.tls.cert), private_key: readPem(config.tls.key) }], false)
    : grpc.ServerCredentials.createInsecure();
  const address = `${bracketHost(config.host)}:${config.grpcPort ?? 0}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (err, bound) => {
      if (!err) return resolve(bound);
      server.forceShutdown();
      reject(ferry('FERRY_E_CONFIG_INVALID', { detail: `cannot listen for gRPC on ${address}: ${err.message}` }, err));
    });
  });
  return { server, port };
}

/**
 * The service with ModelInfer's repeated fields counted before decoding: typed contents may
 * take at most twice the message limit once decoded (large tensors belong in raw contents).
 */
function boundedService(def: grpc.ServiceDefinition, maxMessageBytes: number): grpc.ServiceDefinition {
  const infer = def.ModelInfer;
  if (!infer) throw ferry('FERRY_E_INTERNAL', { detail: 'the gRPC service definition has no ModelInfer' });
  const limits: MessageLimits = { ...INFER_LIMITS, maxDecodedBytes: 2 * maxMessageBytes };
  return { ...def, ModelInfer: { ...infer, requestDeserialize: boundedDeserializer(infer.requestDeserialize, limits, PROTOCOL) } };
}

/** The RPC implementations; every one answers errors as a gRPC status with Ferry's message. API keys are checked by the interceptor. */
export function handlers(ctx: ServingContext): grpc.UntypedServiceImplementation {
  return {
    ServerLive: unary<Empty, ServerLiveResponse>(ctx, 'ServerLive', () => ({ live: true })),
    ServerReady: unary<Empty, ServerReadyResponse>(ctx, 'ServerReady', () => ({ ready: ctx.deployments.ready })),
    ServerMetadata: unary<Empty, ServerMetadataResponse>(ctx, 'ServerMetadata', () => ({ name: 'ferry', version: ctx.version, extensions: [...OIP_EXTENSIONS] })),
    ModelReady: unary<ModelReadyRequest, ModelReadyResponse>(ctx, 'ModelReady', (call) => {
      return { ready: ctx.deployments.isReady(call.request.name, call.request.version || undefined) };
    }),
    ModelMetadata: unary<ModelMetadataRequest, ModelMetadataResponse>(ctx, 'ModelMetadata', (call) => {
      return grpcModelMetadata(ctx, call.request);
    }),
    ModelInfer: unary<ModelInferRequest, ModelInferResponse>(ctx, 'ModelInfer', (call) => {
      if (isRefused(call.request)) throw call.request.refused;
      return modelInfer(ctx, call);
    }),
  };
}

/** Same document as REST `GET /v2/models/{model}[/versions/{version}]`. */
async function grpcModelMetadata(ctx: ServingContext, req: ModelMetadataRequest): Promise<ModelMetadataResponse> {
  if (!req.name) throw bad('"name" (the model) is required');
  return modelMetadata(ctx.deployments, req.name, req.version || undefined);
}

async function modelInfer(ctx: ServingContext, call: grpc.ServerUnaryCall<ModelInferRequest, ModelInferResponse>): Promise<ModelInferResponse> {
  const req = call.request;
  if (!req.model_name) throw bad('"model_name" is required');
  ctx.deployments.config(req.model_name); // an unknown model is NOT_FOUND, whatever the message holds
  const { tensors, raw } = ctx.metrics.countRefused(req.model_name, req.model_version || undefined, 'oip-grpc', () => parseInputs(req));
  const wanted = (req.outputs ?? []).map((o, i) => {
    if (!o.name) throw bad(`outputs[${i}] needs a "name"`);
    return o.name;
  });
  const seen = new Set<string>();
  const twice = wanted.find((name) => seen.size === seen.add(name).size);
  if (twice !== undefined) throw bad(`output "${twice}" is requested twice`);
  const requestId = req.id || firstString(call.metadata.get('x-request-id')) || randomUUID();
  // `explain` (bool) and `explain_space` (string), as the REST parameters: the pipeline's explain stage answers them.
  const space = req.parameters?.explain_space;
  if (space && space.parameter_choice !== 'string_param') throw bad('parameter "explain_space" must be a string_param');
  const explain = boolParam(req.parameters?.explain, 'explain') === true ? explainOptions(space ? { space: space.string_param } : true, PROTOCOL) : undefined;
  const explainNames = explain ? EXPLAIN_OUTPUTS : [];
  const result = await ctx.pipeline.run({
    model: { served: ctx.deployments.config(req.model_name), pointer: req.model_version || undefined },
    input: { kind: 'tensors', tensors },
    outputs: wanted.filter((n) => !explainNames.includes(n)),
    source: 'oip-grpc',
    requestId,
    confidence: boolParam(req.parameters?.confidence, 'confidence'),
    ...(explain ? { extras: { [EXPLAIN_STAGE]: explain } } : {}),
  });
  const headers = new grpc.Metadata();
  headers.set('x-ferry-model-version', String(result.version));
  if (result.predictionIds) {
    headers.set('x-prediction-count', String(result.predictionIds.length));
    if (result.predictionIds.length <= 100) headers.set('x-prediction-id', result.predictionIds.join(','));
  }
  call.sendMetadata(headers);

  const explained = result.extras?.[EXPLAIN_STAGE];
  const all: Readonly<Record<string, Tensor>> = explained?.kind === 'tensors' ? { ...result.outputs, ...explained.tensors } : result.outputs;
  const names = wanted.length > 0 ? [...wanted, ...explainNames.filter((n) => !wanted.includes(n))] : Object.keys(all);
  const outputs = names.map((name): [string, Tensor] => {
    const t = all[name];
    if (!t) throw ferry('FERRY_E_INTERNAL', { detail: `the model answered without output "${name}"` });
    return [name, t];
  });
  // Raw answers raw; FP16 has no typed field, and the proto forbids mixing raw and typed outputs.
  if (result.confidence) outputs.push(['confidence', { dtype: 'float64', shape: [result.confidence.length], data: result.confidence }]);
  const answerRaw = raw || outputs.some(([, t]) => !hasContentsField(t.dtype));
  return {
    model_name: result.model,
    model_version: String(result.version),
    id: requestId,
    ...(result.predictionIds ? { parameters: { prediction_ids: { string_param: result.predictionIds.join(',') } } } : {}),
    outputs: outputs.map(([name, t]) => ({
      name,
      datatype: datatypeOf(t.dtype),
      shape: [...t.shape],
      ...(answerRaw ? {} : { contents: contentsFromTensor(t) }),
    })),
    raw_output_contents: answerRaw ? outputs.map(([, t]) => asBuffer(tensorToBytes(t))) : [],
  };
}

/** Input tensors from typed `contents` or from `raw_input_contents` (one buffer per input, in order). */
function parseInputs(req: ModelInferRequest): { tensors: Record<string, Tensor>; raw: boolean } {
  const inputs = req.inputs ?? [];
  const rawContents = req.raw_input_contents ?? [];
  if (inputs.length === 0) throw bad('"inputs" must hold at least one tensor');
  const raw = rawContents.length > 0;
  if (raw && rawContents.length !== inputs.length) {
    throw bad(`raw_input_contents has ${rawContents.length} entr${rawContents.length === 1 ? 'y' : 'ies'} but the request has ${inputs.length} input(s); send one per input, in the order of "inputs"`);
  }
  // No prototype: an input named "constructor" or "__proto__" is just a name.
  const tensors = Object.create(null) as Record<string, Tensor>;
  inputs.forEach((input, i) => {
    const name = input.name;
    if (!name) throw bad(`inputs[${i}] needs a "name"`);
    if (Object.hasOwn(tensors, name)) throw bad(`input "${name}" is given twice`);
    const dtype = dtypeOf(input.datatype, name, PROTOCOL);
    const shape = checkShape((input.shape ?? []).map(Number), name, PROTOCOL);
    if (raw) {
      if (hasContents(input.contents)) throw bad(`input "${name}" has contents but the request uses raw_input_contents; use one or the other for all inputs`);
      tensors[name] = tensorFromBytes(name, dtype, shape, dtype === 'string' ? rawContents[i] ?? new Uint8Array(0) : alignedInPlace(rawContents[i] ?? new Uint8Array(0), BYTES_PER_ELEMENT[dtype]), PROTOCOL);
    } else {
      tensors[name] = tensorFromContents(name, dtype, shape, input.contents, PROTOCOL);
    }
  });
  return { tensors, raw };
}

/** Wrap a handler: resolve to the response, or answer any error as a status with Ferry's message. */
function unary<Req, Res>(ctx: ServingContext, rpc: string, handle: (call: grpc.ServerUnaryCall<Req, Res>) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    void (async () => {
      let response: Res;
      try {
        response = await handle(call);
      } catch (err) {
        callback(statusOf(ctx, rpc, err));
        return;
      }
      callback(null, response);
    })();
  };
}

function statusOf(ctx: ServingContext, rpc: string, err: unknown): Partial<grpc.StatusObject> {
  const error = asFerryError(err);
  const code: number = error.grpcStatus;
  if (code === GrpcStatus.INTERNAL) ctx.logger.error({ err, rpc }, 'gRPC request failed');
  else ctx.logger.debug({ rpc, code: error.code, msg: error.message }, 'gRPC request refused');
  const metadata = new grpc.Metadata();
  metadata.set('x-ferry-error-code', error.code);
  return { code, details: error.message, metadata };
}

function firstString(values: grpc.MetadataValue[]): string | undefined {
  const v = values[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw ferry('FERRY_E_FILE_NOT_FOUND', { path }, err);
  }
}

/** IPv6 literals need brackets in a gRPC target. */
function bracketHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function bad(detail: string) {
  return ferry('FERRY_E_REQUEST_INVALID', { protocol: PROTOCOL, detail });
}

/** A request parameter that must be a bool when given (`confidence`, `explain`). */
function boolParam(p: InferParameter | undefined, name: string): boolean | undefined {
  if (!p) return undefined;
  if (p.parameter_choice === 'bool_param') return p.bool_param === true;
  throw bad(`parameter "${name}" must be a bool_param`);
}
