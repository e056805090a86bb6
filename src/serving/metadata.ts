import type { Deployments } from '../scoring/deployments.js';
import { datatypeOf } from './oip-codec.js';

/** OIP model metadata: the same document for REST `GET /v2/models/{m}` and gRPC ModelMetadata. */
export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
}

const PLATFORMS: Readonly<Record<string, string>> = { onnx: 'onnxruntime_onnx' };

export async function modelMetadata(deployments: Deployments, model: string, version?: string): Promise<ModelMetadata> {
  const v = await deployments.describe(model, version);
  const versions = [...new Set(deployments.index().filter((e) => e.name === model && /^\d+$/.test(e.version)).map((e) => e.version))];
  return {
    name: model,
    versions,
    platform: PLATFORMS[v.format] ?? v.format,
    inputs: v.signature.inputs.map((s) => ({ name: s.name, datatype: datatypeOf(s.dtype), shape: [...s.shape] })),
    outputs: v.signature.outputs.map((s) => ({ name: s.name, datatype: datatypeOf(s.dtype), shape: [...s.shape] })),
  };
}
