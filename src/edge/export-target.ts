/**
 * The seam between `ferry export` and what it writes: one ExportTarget per target (node,
 * browser, sql, equation), one folder each, listed in targets.ts.
 */
import type { ModelVersion } from '../registry/types.js';
import type { ParityVectors } from './package/types.js';

/** The model being exported, with everything a target may need. */
export interface ExportModel {
  readonly version: ModelVersion;
  /** The registered artifact's bytes (integrity already verified). */
  readonly artifact: Uint8Array;
  /** `name:version`, for messages. */
  readonly label: string;
  /** Sample rows and the server's predictions for them (from the one scoring path). */
  readonly parity: ParityVectors;
  /** Set when `artifact` is the registered model quantized for the export (ONNX, --quantize). */
  readonly quantized?: 'int8';
}

/** Options of `ferry export` a target may read (each target documents which). */
export interface ExportOptions {
  readonly dialect?: string;
  readonly table?: string;
  readonly keys?: readonly string[];
  /** node, browser: the Ferry server the package reports its predictions to (its prediction log). */
  readonly reportUrl?: string;
}

/** One file of an export, with what kind of bytes it holds (for the size report). */
export interface ExportFile {
  /** Path relative to the export's root (a folder) — or the file name for single-file targets. */
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly kind: 'js' | 'wasm' | 'data' | 'text';
}

export interface ExportTarget {
  readonly name: string;
  /** Whether the target writes a folder (a package) or one file. */
  readonly output: 'folder' | 'file';
  /** Whether the export is checked against the server's predictions for `--sample` rows. */
  readonly checked: boolean;
  /** Why the target cannot export this model, or undefined when it can. */
  refusal(model: ExportModel, options: ExportOptions): string | undefined;
  /** The files of the export, in memory: the caller writes them after its checks. */
  build(model: ExportModel, options: ExportOptions): Promise<readonly ExportFile[]>;
  /** Run the export's parity test on the written files (a folder, or the one file), when the target has one. */
  verify?(written: string, model: ExportModel, options: ExportOptions): Promise<ParityCheck>;
}

/** What an export's parity test reported. */
export interface ParityCheck {
  readonly ok: boolean;
  readonly rows: number;
  readonly maxDiff: number;
  readonly mismatches: readonly string[];
}
