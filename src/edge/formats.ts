/**
 * Which model formats a JavaScript package can carry, and the bytes it ships for each: the
 * flat typed arrays the server's runtime compiles the artifact into (trees, linear boosters),
 * or the parsed document where the compiled form is code (PMML: its element tree as JSON).
 */
import { compileLightgbm } from '../runtimes/lightgbm/lightgbm-text.js';
import { compileModel } from '../runtimes/xgboost/xgboost-model.js';
import { parse as parseXgboost } from '../runtimes/xgboost/xgboost-runtime.js';
import { parseXml, packTree } from '../runtimes/pmml/xml.js';
import { encodeModel } from './package/codec.js';

import { createRequire } from 'node:module';

/** A package's model data: bytes shipped as base64, or a document shipped as text. */
export type PackageData = { readonly encoding: 'base64'; readonly bytes: Uint8Array } | { readonly encoding: 'text'; readonly text: string };

/** Formats a package can evaluate, each with how its data is made from the artifact. */
export const PACKAGE_FORMATS: Readonly<Record<string, (artifact: Uint8Array) => PackageData>> = {
  xgboost: (artifact) => ({ encoding: 'base64', bytes: encodeModel(compileModel(parseXgboost(artifact))) }),
  lightgbm: (artifact) => ({ encoding: 'base64', bytes: encodeModel(compileLightgbm(new TextDecoder().decode(artifact))) }),
  // The parsed element tree (the server's own parse), so the package carries no XML parser.
  pmml: (artifact) => ({ encoding: 'text', text: JSON.stringify(packTree(parseXml(new TextDecoder().decode(artifact)))) }),
  onnx: (artifact) => ({ encoding: 'base64', bytes: artifact }),
};

const require = createRequire(import.meta.url);

/** Files a format's evaluator needs next to index.js: ONNX needs onnxruntime-web's one single-threaded WebAssembly binary. */
export const PACKAGE_ASSETS: Readonly<Record<string, readonly { readonly path: string; readonly source: () => string }[]>> = {
  onnx: [{ path: 'ort-wasm-simd-threaded.wasm', source: () => require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm') }],
};

/** Why a format cannot go into a JavaScript package, or undefined. */
export function packageRefusal(format: string): string | undefined {
  if (PACKAGE_FORMATS[format]) return undefined;
  return `format "${format}" has no edge evaluator (supported: ${Object.keys(PACKAGE_FORMATS).join(', ')})`;
}

/**
 * How far an export may differ from the server. Trees, linear models and PMML run the server's
 * own arithmetic: float32 precision. ONNX runs onnxruntime-web's WebAssembly kernels instead of
 * the native ones (other convolution and GEMM code): differences of a few 1e-6 are expected.
 */
export function parityTolerance(format: string): { readonly abs: number; readonly rel: number } {
  return format === 'onnx' ? { abs: 1e-4, rel: 1e-4 } : { abs: 1e-6, rel: 1e-6 };
}
