import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ferry } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import type { ServingContext } from '../context.js';
import { modelMetadata } from '../metadata.js';
import { checkShape, datatypeOf, dtypeOf, tensorFromBytes, tensorFromJson, tensorToBytes, tensorToJson } from '../oip-codec.js';
import { bodyText, parseJsonBody, setPredictionHeaders } from './fastify.js';
import { EXPLAIN_OUTPUTS, EXPLAIN_STAGE, explainOptions } from '../../scoring/explain-stage.js';
import type { ExplainOptions } from '../../scoring/explanations.js';

const PROTOCOL = 'Open Inference Protocol';

/** Extensions this server implements, as reported by `GET /v2`. */
export const OIP_EXTENSIONS = ['binary_tensor_data', 'model_repository'];

interface ModelParams { model: string; version?: string }

/** Open Inference Protocol v2 over REST, with the binary tensor data and model repository extensions. */
export function oipRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.get('/v2/health/live', (_req, reply) => reply.code(200).send({ live: true }));
  app.get('/v2/health/ready', (_req, reply) => reply.code(ctx.deployments.ready ? 200 : 503).send({ ready: ctx.deployments.ready }));
  app.get('/v2', () => ({ name: 'ferry', version: ctx.version, extensions: OIP_EXTENSIONS }));

  const ready = (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    ctx.auth.check(req, 'predict');
    ctx.deployments.config(req.params.model); // 404 for a model this server does not serve
    const ok = ctx.deployments.isReady(req.params.model, req.params.version);
    return reply.code(ok ? 200 : 400).send();
  };
  app.get('/v2/models/:model/ready', ready);
  app.get('/v2/models/:model/versions/:version/ready', ready);

  const metadata = (req: FastifyRequest<{ Params: ModelParams }>) => {
    ctx.auth.check(req, 'predict');
    return modelMetadata(ctx.deployments, req.params.model, req.params.version);
  };
  app.get('/v2/models/:model', metadata);
  app.get('/v2/models/:model/versions/:version', metadata);

  const infer = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    ctx.auth.check(req, 'predict');
    const answer = await inferAnswer(ctx, req.params.model, req.params.version, Buffer.isBuffer(req.body) ? req.body : undefined, req.headers, req.id);
    void reply.header('x-ferry-model-version', answer.version);
    setPredictionHeaders(reply, answer.predictionIds);
    if (answer.headerLength !== undefined) void reply.header('inference-header-content-length', String(answer.headerLength));
    return reply.type(answer.contentType).send(answer.payload);
  };
  app.post('/v2/models/:model/infer', infer);
  app.post('/v2/models/:model/versions/:version/infer', infer);

  // Model repository extension.
  app.post('/v2/repository/index', async (req) => {
    ctx.auth.check(req, 'predict');
    const text = bodyText(req);
    const body = text.trim() === '' ? {} : parseJsonBody(text, PROTOCOL);
    const readyOnly = typeof body === 'object' && body !== null && (body as { ready?: unknown }).ready === true;
    await ctx.deployments.refresh();
    return ctx.deployments.index(readyOnly);
  });
  app.post('/v2/repository/models/:model/load', async (req: FastifyRequest<{ Params: ModelParams }>, reply) => {
    const actor = ctx.auth.check(req, 'admin');
    ctx.logger.info({ model: req.params.model, actor, from: req.ip }, 'repository load');
    await ctx.served.load(req.params.model);
    return reply.code(200).send({});
  });
  app.post('/v2/repository/models/:model/unload', async (req: FastifyRequest<{ Params: ModelParams }>, reply) => {
    const actor = ctx.auth.check(req, 'admin');
    ctx.logger.info({ model: req.params.model, actor, from: req.ip }, 'repository unload');
    await ctx.served.unload(req.params.model);
    return reply.code(200).send({});
  });
}

/** An infer request's answer, ready for any HTTP front: the JSON document, or JSON header + binary outputs. */
export interface InferAnswer {
  readonly contentType: 'application/json' | 'application/octet-stream';
  /** The JSON document (an object), or the whole binary body. */
  readonly payload: object | Buffer;
  /** Inference-Header-Content-Length of a binary body. */
  readonly headerLength: number | undefined;
  /** x-ferry-model-version. */
  readonly version: string;
  readonly predictionIds: readonly string[] | undefined;
  /** The ids joined by commas (the body's `prediction_ids`, reused for the header). */
  readonly predictionIdText?: string | undefined;
}

/**
 * Score one `POST /v2/models/:model[/versions/:version]/infer` body (auth already checked):
 * the model is looked up before the body is read, so an unknown model is a 404 whatever the body.
 */
export async function inferAnswer(ctx: ServingContext, model: string, version: string | undefined, body: Buffer | undefined, headers: IncomingHttpHeaders, requestId: string): Promise<InferAnswer> {
  const served = ctx.deployments.config(model);
  const parsed = ctx.metrics.countRefused(model, version, 'oip-rest', () => parseInferRequest(body, headers));
  if (parsed.nulls) await refuseNulls(ctx, model, version, parsed.nulls, parsed.inputs);
  const explainNames = parsed.explain ? EXPLAIN_OUTPUTS : [];
  const result = await ctx.pipeline.run({
    model: { served, pointer: version },
    input: { kind: 'tensors', tensors: parsed.inputs },
    outputs: parsed.outputs.map((o) => o.name).filter((n) => !explainNames.includes(n)),
    source: 'oip-rest',
    requestId: parsed.id ?? requestId,
    confidence: parsed.confidence,
    ...(parsed.explain ? { extras: { [EXPLAIN_STAGE]: parsed.explain } } : {}),
  });
  const explained = result.extras?.[EXPLAIN_STAGE];
  const all: Readonly<Record<string, Tensor>> = explained?.kind === 'tensors' ? { ...result.outputs, ...explained.tensors } : result.outputs;
  const asked = parsed.outputs.map((o) => o.name);
  const names = parsed.outputs.length > 0 ? [...asked, ...explainNames.filter((n) => !asked.includes(n))] : Object.keys(all);
  const binary: Buffer[] = [];
  const outputs = names.map((name) => {
    const t = all[name] as Tensor;
    const wantsBinary = parsed.outputs.find((o) => o.name === name)?.binary ?? parsed.binaryOutput;
    // Literals, not a spread of a shared head: a spread plus one property takes V8's slow clone path.
    if (!wantsBinary && t.dtype !== 'float16') return { name, datatype: datatypeOf(t.dtype), shape: [...t.shape], data: tensorToJson(t) };
    const bytes = tensorToBytes(t);
    binary.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { name, datatype: datatypeOf(t.dtype), shape: [...t.shape], parameters: { binary_data_size: bytes.byteLength } };
  });
  // Confidence is one more output tensor (FP64, one value per row), so the answer stays valid OIP.
  if (result.confidence) outputs.push({ name: 'confidence', datatype: 'FP64', shape: [result.confidence.length], data: Array.from(result.confidence, finiteOrNull) as unknown as ReturnType<typeof tensorToJson> });
  const modelVersion = String(result.version);
  const id = parsed.id ?? requestId;
  // OIP parameters are scalars, so the ids are one comma-separated string (as in the header).
  const idText = result.predictionIds?.join(',');
  // Two literals rather than a conditional spread (V8's slower object clone).
  const doc = idText === undefined
    ? { model_name: result.model, model_version: modelVersion, id, outputs }
    : { model_name: result.model, model_version: modelVersion, id, parameters: { prediction_ids: idText }, outputs };
  if (binary.length === 0) return { contentType: 'application/json', payload: doc, headerLength: undefined, version: modelVersion, predictionIds: result.predictionIds, predictionIdText: idText };
  const json = Buffer.from(JSON.stringify(doc));
  return { contentType: 'application/octet-stream', payload: Buffer.concat([json, ...binary]), headerLength: json.length, version: modelVersion, predictionIds: result.predictionIds, predictionIdText: idText };
}

/**
 * JSON has no NaN, so `null` in a float tensor's data is a missing value — for an input that
 * accepts them (XGBoost, LightGBM, scikit-learn with missing-value support, PMML). An input that
 * does not is refused as an empty cell is in a file, not scored as NaN.
 */
async function refuseNulls(ctx: ServingContext, model: string, version: string | undefined, nulls: ReadonlyMap<string, number>, inputs: Readonly<Record<string, Tensor>>): Promise<void> {
  const { signature } = await ctx.deployments.describe(model, version);
  for (const [name, index] of nulls) {
    const spec = signature.inputs.find((i) => i.name === name);
    if (!spec || spec.nullable === true) continue;
    const shape = inputs[name]?.shape ?? [];
    const width = shape.slice(1).reduce((a, b) => a * b, 1) || 1;
    const j = index % width;
    throw ferry('FERRY_E_VALUE_MISSING', { row: Math.floor(index / width) + 1, column: spec.columns?.[j] ?? `${name}[${j}]`, expected: `a number: this model does not accept missing values, and null is one` });
  }
}

interface ParsedInfer {
  id: string | undefined;
  inputs: Record<string, Tensor>;
  /** Inputs whose JSON data held null (a missing value, NaN in the tensor), with the first one's element index; undefined when none did. */
  nulls: Map<string, number> | undefined;
  outputs: { name: string; binary: boolean | undefined }[];
  binaryOutput: boolean;
  /** `parameters.confidence`: true/false to ask for (or refuse) the confidence score. */
  confidence: boolean | undefined;
  /** `parameters.explain` (and `explain_space`): add the `contributions` and `contribution_names` outputs. */
  explain: ExplainOptions | undefined;
}

/** Parse an infer request: JSON, or JSON header + binary tensor data (Inference-Header-Content-Length). */
export function parseInferRequest(raw: Buffer | undefined, headers: IncomingHttpHeaders): ParsedInfer {
  const body = raw ?? Buffer.alloc(0);
  const headerLength = headers['inference-header-content-length'];
  let jsonPart: Buffer = body;
  let binaryPart: Buffer = Buffer.alloc(0);
  if (headerLength !== undefined) {
    const n = Number(headerLength);
    if (!Number.isInteger(n) || n < 0 || n > body.length) {
      throw ferry('FERRY_E_REQUEST_INVALID', { protocol: PROTOCOL, detail: `Inference-Header-Content-Length ${String(headerLength)} does not fit a body of ${body.length} bytes` });
    }
    jsonPart = body.subarray(0, n);
    binaryPart = body.subarray(n);
  }
  const doc = parseJsonBody(jsonPart.toString('utf8'), PROTOCOL);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('the body must be a JSON object with "inputs"');
  const { id, inputs, outputs, parameters } = doc as Record<string, unknown>;
  if (id !== undefined && typeof id !== 'string') throw bad('"id" must be a string');
  if (!Array.isArray(inputs) || inputs.length === 0) throw bad('"inputs" must be a non-empty list of tensors');
  // No prototype: an input named "constructor" or "__proto__" is just a name.
  const tensors = Object.create(null) as Record<string, Tensor>;
  let nulls: Map<string, number> | undefined;
  let offset = 0;
  inputs.forEach((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null) throw bad(`inputs[${i}] must be an object`);
    const input = raw as Record<string, unknown>;
    if (typeof input.name !== 'string' || input.name === '') throw bad(`inputs[${i}] needs a "name"`);
    const name = input.name;
    if (Object.hasOwn(tensors, name)) throw bad(`input "${name}" is given twice`);
    const dtype = dtypeOf(input.datatype, name, PROTOCOL);
    const shape = checkShape(input.shape, name, PROTOCOL);
    if (input.parameters !== undefined && !isObject(input.parameters)) throw bad(`input "${name}" "parameters" must be an object`);
    const size = (input.parameters as { binary_data_size?: unknown } | undefined)?.binary_data_size;
    if (size !== undefined) {
      if (!Number.isInteger(size) || (size as number) < 0 || offset + (size as number) > binaryPart.length) {
        throw bad(`input "${name}" binary_data_size ${JSON.stringify(size)} runs past the end of the body`);
      }
      tensors[name] = tensorFromBytes(name, dtype, shape, binaryPart.subarray(offset, offset + (size as number)), PROTOCOL);
      offset += size as number;
    } else {
      tensors[name] = tensorFromJson(name, dtype, shape, input.data, PROTOCOL, (at) => (nulls ??= new Map()).set(name, at));
    }
  });
  if (offset !== binaryPart.length) throw bad(`${binaryPart.length - offset} byte(s) of binary data are not claimed by any input's binary_data_size`);
  if (parameters !== undefined && !isObject(parameters)) throw bad('"parameters" must be an object');
  const binaryOutput = (parameters as { binary_data_output?: unknown } | undefined)?.binary_data_output === true;
  const confidence = (parameters as { confidence?: unknown } | undefined)?.confidence;
  if (confidence !== undefined && typeof confidence !== 'boolean') throw bad('"parameters.confidence" must be true or false');
  const { explain: explainParam, explain_space: space } = (parameters ?? {}) as { explain?: unknown; explain_space?: unknown };
  if (explainParam !== undefined && typeof explainParam !== 'boolean') throw bad('"parameters.explain" must be true or false');
  const explain = explainParam === true ? explainOptions(space === undefined ? true : { space }, PROTOCOL) : undefined;
  if (outputs !== undefined && !Array.isArray(outputs)) throw bad('"outputs" must be a list');
  const wanted = (outputs ?? []).map((o: unknown, i) => {
    if (typeof o !== 'object' || o === null || typeof (o as { name?: unknown }).name !== 'string') throw bad(`outputs[${i}] needs a "name"`);
    const b = ((o as { parameters?: { binary_data?: unknown } }).parameters)?.binary_data;
    return { name: (o as { name: string }).name, binary: typeof b === 'boolean' ? b : undefined };
  });
  return { id, inputs: tensors, nulls, outputs: wanted, binaryOutput, confidence, explain };
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(detail: string) {
  return ferry('FERRY_E_REQUEST_INVALID', { protocol: PROTOCOL, detail });
}

