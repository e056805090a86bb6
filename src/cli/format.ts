import { describeShape, type ModelSignature } from '../core/signature.js';
import type { ModelVersion } from '../registry/types.js';

/** Versions as a table for people. */
export function versionRows(versions: readonly ModelVersion[]): (string | number)[][] {
  return versions.map((v) => [
    v.version,
    v.format,
    v.aliases.join(',') || '-',
    v.archivedAt ? 'archived' : 'live',
    formatBytes(v.size),
    v.digest.slice(7, 19),
    v.createdBy,
    v.createdAt.replace('T', ' ').slice(0, 19),
  ]);
}

export const VERSION_HEADER = ['version', 'format', 'aliases', 'status', 'size', 'digest', 'created by', 'created at'];

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A signature as indented lines: `input  float32 [N, 30]  ← a, b, …`. */
export function signatureLines(sig: ModelSignature): string[] {
  const line = (role: string, s: ModelSignature['inputs'][number]) => {
    const cols = s.columns ? `  ← ${s.columns.length > 6 ? `${s.columns.slice(0, 6).join(', ')}, … (${s.columns.length})` : s.columns.join(', ')}` : '';
    return `  ${role} ${s.name}  ${s.dtype} ${describeShape(s.shape)}${cols}`;
  };
  return [...sig.inputs.map((s) => line('in ', s)), ...sig.outputs.map((s) => line('out', s))];
}
