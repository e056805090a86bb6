/** Sizes of an export: raw and gzipped, by kind of file (code, model data, wasm, text). */
import { gzipSync } from 'node:zlib';
import type { ExportFile } from './export-target.js';

export interface SizeLine {
  readonly kind: ExportFile['kind'];
  readonly files: number;
  readonly raw: number;
  readonly gzip: number;
}

export interface SizeReport {
  readonly lines: readonly SizeLine[];
  readonly raw: number;
  /** Sum of each file gzipped on its own (what a server sends with Content-Encoding: gzip). */
  readonly gzip: number;
}

export function sizeReport(files: readonly ExportFile[]): SizeReport {
  const byKind = new Map<ExportFile['kind'], { files: number; raw: number; gzip: number }>();
  for (const f of files) {
    const line = byKind.get(f.kind) ?? { files: 0, raw: 0, gzip: 0 };
    line.files += 1;
    line.raw += f.bytes.length;
    line.gzip += gzipSync(f.bytes, { level: 9 }).length;
    byKind.set(f.kind, line);
  }
  const lines = [...byKind].map(([kind, l]) => ({ kind, ...l }));
  return { lines, raw: lines.reduce((a, l) => a + l.raw, 0), gzip: lines.reduce((a, l) => a + l.gzip, 0) };
}

/** `--max-size 200kb` / `2mb` / `150000` in bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const scale = unit.startsWith('m') ? 1024 * 1024 : unit.startsWith('k') ? 1024 : 1;
  return Math.round(Number(m[1]) * scale);
}
