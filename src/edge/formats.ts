/**
 * Which model formats a JavaScript package can carry, and the bytes it ships for each: the
 * flat typed arrays the server's runtime compiles the artifact into (trees, linear boosters),
 * or the document itself where the compiled form is code (PMML).
 */
import { compileLightgbm } from '../runtimes/lightgbm/lightgbm-model.js';
import { compileModel } from '../runtimes/xgboost/xgboost-model.js';
import { parse as parseXgboost } from '../runtimes/xgboost/xgboost-runtime.js';
import { encodeModel } from './package/codec.js';

/** A package's model data: bytes shipped as base64, or a document shipped as text. */
export type PackageData = { readonly encoding: 'base64'; readonly bytes: Uint8Array } | { readonly encoding: 'text'; readonly text: string };

/** Formats a package can evaluate, each with how its data is made from the artifact. */
export const PACKAGE_FORMATS: Readonly<Record<string, (artifact: Uint8Array) => PackageData>> = {
  xgboost: (artifact) => ({ encoding: 'base64', bytes: encodeModel(compileModel(parseXgboost(artifact))) }),
  lightgbm: (artifact) => ({ encoding: 'base64', bytes: encodeModel(compileLightgbm(new TextDecoder().decode(artifact))) }),
  pmml: (artifact) => ({ encoding: 'text', text: new TextDecoder().decode(artifact) }),
};

/** Why a format cannot go into a JavaScript package, or undefined. */
export function packageRefusal(format: string): string | undefined {
  if (PACKAGE_FORMATS[format]) return undefined;
  if (format === 'onnx') return 'ONNX models are not exported to JavaScript packages yet (onnxruntime-web support is not built); serve the model, or export a tree or linear model';
  return `format "${format}" has no edge evaluator (supported: ${Object.keys(PACKAGE_FORMATS).join(', ')})`;
}
