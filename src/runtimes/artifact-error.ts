import { ferry, FerryError, type ErrorCode, type ErrorParams } from '../core/errors.js';
import type { ModelRuntime, RuntimeFactory, RuntimeOptions, Translation } from './model-runtime.js';

/**
 * What is wrong with a model file, as a format's parser finds it. Parsers throw this (or a
 * subclass) and never build catalog errors themselves: the runtime catalog reports it once, with
 * the file's name and the format's title, as `code` — FERRY_E_ARTIFACT_INVALID unless the
 * parser named a more precise one (a refused pickle global, a limit, an unsupported estimator).
 */
export class ArtifactError extends Error {
  readonly code: ErrorCode;
  /** The code's parameters besides `path` (and, for FERRY_E_ARTIFACT_INVALID, `format` and `detail`). */
  readonly params: ErrorParams;

  constructor(message: string, code: ErrorCode = 'FERRY_E_ARTIFACT_INVALID', params: ErrorParams = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.params = params;
  }
}

/** A format as its errors name it. */
export interface ArtifactFormat {
  readonly format: string;
  /** How people write the format's name (`XGBoost`, `scikit-learn`). */
  readonly title: string;
}

/**
 * Any failure to read, translate or load an artifact as the one error callers see: Ferry errors
 * pass through; a parser's `ArtifactError` becomes its code; anything else (a library's own
 * exception, a JSON syntax error) is FERRY_E_ARTIFACT_INVALID with its message.
 */
export function artifactFailure(err: unknown, format: ArtifactFormat, path: string): FerryError {
  if (err instanceof FerryError) return err;
  if (err instanceof ArtifactError && err.code !== 'FERRY_E_ARTIFACT_INVALID') return ferry(err.code, { path, ...err.params }, err);
  const detail = err instanceof Error ? err.message : String(err);
  return ferry('FERRY_E_ARTIFACT_INVALID', { path, format: format.title, detail }, err);
}

/**
 * Load an artifact with its format's runtime, on the calling thread: the one place where what a
 * parser or a library throws about a file becomes a catalog error (`artifactFailure`). Worker
 * threads load through it too.
 */
export async function loadArtifact(factory: RuntimeFactory, bytes: Uint8Array, options: RuntimeOptions, label: string): Promise<ModelRuntime> {
  try {
    return await factory.load(bytes, options, label);
  } catch (err) {
    throw artifactFailure(err, factory, label);
  }
}

/** Translate a registered file with its format's `translate` (undefined when the format stores files as they are), errors reported as by `loadArtifact`. */
export async function translateArtifact(factory: RuntimeFactory, bytes: Uint8Array, label: string): Promise<Translation | undefined> {
  try {
    return factory.translate ? await factory.translate(bytes, label) : undefined;
  } catch (err) {
    throw artifactFailure(err, factory, label);
  }
}
