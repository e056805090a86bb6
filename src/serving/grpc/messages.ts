/**
 * TypeScript shapes of the `inference` messages (proto/open_inference_grpc.proto) as
 * @grpc/proto-loader decodes them with PROTO_OPTIONS: field names as in the proto (keepCase),
 * 64-bit integers as decimal strings (longs: String), missing fields filled in (defaults:
 * repeated → [], maps → {}, messages → null, scalars → zero values).
 * Outgoing messages may leave fields out and give 64-bit integers as numbers or strings.
 */

/** An int64/uint64 value: a decimal string when decoded, a number or string when encoded. */
export type Int64 = string | number;

export interface InferParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
}

export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Empty {}

export interface ServerLiveResponse { live: boolean }
export interface ServerReadyResponse { ready: boolean }

export interface ModelReadyRequest { name: string; version: string }
export interface ModelReadyResponse { ready: boolean }

export interface ServerMetadataResponse { name: string; version: string; extensions: string[] }

export interface ModelMetadataRequest { name: string; version: string }

export interface TensorMetadata { name: string; datatype: string; shape: Int64[] }

export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  properties?: Record<string, string>;
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters: Record<string, InferParameter>;
  contents: InferTensorContents | null;
}

export interface InferRequestedOutputTensor {
  name: string;
  parameters: Record<string, InferParameter>;
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameter>;
  inputs: InferInputTensor[];
  outputs: InferRequestedOutputTensor[];
  raw_input_contents: Uint8Array[];
}

export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents | null;
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, InferParameter>;
  outputs: InferOutputTensor[];
  raw_output_contents?: Uint8Array[];
}
