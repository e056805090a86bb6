/** Request bodies for each protocol, built once per cell so the load generator only replays bytes. */
import { FEATURES, fp32Bytes, INPUT_NAME } from './fixture.js';

/** One HTTP request, replayed as is. */
export interface HttpPayload {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Open Inference Protocol REST, JSON: `{"inputs": [{"name", "datatype", "shape", "data"}]}`. */
export function oipJson(model: string, rows: readonly number[][]): HttpPayload {
  const body = { inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [rows.length, FEATURES], data: rows.flat() }] };
  return { path: `/v2/models/${model}/infer`, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) };
}

/** OIP binary tensor extension: JSON header + raw little-endian FP32, binary outputs too. */
export function oipBinary(model: string, rows: readonly number[][]): HttpPayload {
  const data = fp32Bytes(rows);
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [rows.length, FEATURES], parameters: { binary_data_size: data.length } }],
    parameters: { binary_data_output: true },
  }));
  return {
    path: `/v2/models/${model}/infer`,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    body: Buffer.concat([header, data]),
  };
}

/** MLflow scoring: `{"instances": [[30 numbers], …]}`. */
export function mlflow(model: string, rows: readonly number[][]): HttpPayload {
  return { path: `/models/${model}/invocations`, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ instances: rows })) };
}

/** The bare server speaks the OIP JSON body on any path. */
export function bareJson(rows: readonly number[][]): HttpPayload {
  return { ...oipJson('bare', rows), path: '/v2/models/bare/infer' };
}

/** gRPC ModelInfer with the tensor in raw_input_contents (proto-loader field names). */
export function grpcInferRequest(model: string, rows: readonly number[][]): object {
  return {
    model_name: model,
    inputs: [{ name: INPUT_NAME, datatype: 'FP32', shape: [rows.length, FEATURES] }],
    raw_input_contents: [fp32Bytes(rows)],
  };
}
