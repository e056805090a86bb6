/** The issue's performance targets, judged from one run's numbers. */
import { ms, rate, type LargeRow, type ResultRow, type TargetResult } from './report.js';
import type { Summary } from './stats.js';

export const LABELS = {
  raw: 'onnxruntime-node `run` (in process)',
  ceiling: 'node:http canned reply (load ceiling)',
  bare: 'bare node:http + ORT',
  oipJson: 'OIP REST JSON',
  /** The same requests to `ferry serve --processes N` (the label names N). */
  oipJsonProcesses: (n: number) => `OIP REST JSON, --processes ${n}`,
  oipBinary: 'OIP REST binary',
  grpc: 'OIP gRPC (raw contents)',
  mlflow: 'MLflow invocations',
} as const;

function find(rows: readonly ResultRow[], target: string, batching: string, concurrency: number): Summary | undefined {
  return rows.find((r) => r.target === target && r.batching === batching && r.concurrency === concurrency)?.summary;
}

/**
 * Judged on the best OIP JSON configuration of the run: one process, or `--processes N` (the
 * bare server is one process either way: it is the floor of one process's work per request).
 */
function batchedJsonVsBare(rows: readonly ResultRow[], bare: ReadonlyMap<number, Summary>): TargetResult {
  const name = 'batching on, concurrency 64: OIP JSON (the best of `ferry serve` and `ferry serve --processes N`) ≥ 1.5× the bare server\'s requests/s with no worse p99';
  const candidates = rows.filter((r) => (r.target === LABELS.oipJson || r.target.startsWith(`${LABELS.oipJson}, --processes`)) && r.batching === 'on' && r.concurrency === 64);
  const best = candidates.reduce<ResultRow | undefined>((b, r) => (!b || r.summary.rps > b.summary.rps ? r : b), undefined);
  const floor = bare.get(64);
  if (!best || !floor) return { name, met: undefined, detail: 'cell not run' };
  const ferry = best.summary;
  const x = ferry.rps / floor.rps;
  const met = x >= 1.5 && ferry.p99 <= floor.p99 && ferry.errors === 0;
  const others = candidates.filter((r) => r !== best).map((r) => `${r.target}: ${rate(r.summary.rps)} req/s = ${(r.summary.rps / floor.rps).toFixed(2)}×`);
  return {
    name,
    met,
    detail: `${best.target}: ${rate(ferry.rps)} vs ${rate(floor.rps)} req/s = ${x.toFixed(2)}× (need 1.5×); p99 ${ms(ferry.p99)} vs ${ms(floor.p99)} ms; ${ferry.errors} error(s)${others.length > 0 ? ` (${others.join('; ')})` : ''}`,
  };
}

function jsonOverheadVsRaw(rows: readonly ResultRow[], raw: Summary | undefined): TargetResult {
  const name = 'concurrency 1: p50 of OIP JSON minus p50 of raw `run` ≤ 0.2 ms';
  const off = find(rows, LABELS.oipJson, 'off', 1);
  if (!off || !raw) return { name, met: undefined, detail: 'cell not run' };
  const overhead = off.p50 - raw.p50;
  const on = find(rows, LABELS.oipJson, 'on', 1);
  const onNote = on ? `; with batching on the p50 is ${ms(on.p50)} ms (an idle batcher dispatches a lone request at the end of the turn, with no timer)` : '';
  // The HTTP round trip itself, with no work at all: what no server on this machine answers under.
  const canned = find(rows, LABELS.ceiling, '—', 1);
  const floorNote = canned ? `; the canned-reply node:http server's own p50 here is ${ms(canned.p50)} ms, so Ferry's part is ${ms(off.p50 - canned.p50)} ms` : '';
  return { name, met: overhead <= 0.2, detail: `batching off: ${ms(off.p50)} − ${ms(raw.p50)} = ${ms(overhead)} ms (need ≤ 0.200)${onNote}${floorNote}` };
}

function largeBinaryVsJson(large: readonly LargeRow[]): TargetResult {
  const name = '100 020-element FP32 tensor: binary and gRPC ≥ 2× OIP JSON requests/s';
  const json = large.find((r) => r.protocol === LABELS.oipJson)?.summary;
  const others = large.filter((r) => r.protocol !== LABELS.oipJson);
  if (!json || others.length === 0) return { name, met: undefined, detail: 'cells not run' };
  const parts = others.map((r) => ({ r, x: r.summary.rps / json.rps }));
  return {
    name,
    met: parts.every((p) => p.x >= 2 && p.r.summary.errors === 0),
    detail: `JSON ${json.rps.toFixed(1)} req/s; ${parts.map((p) => `${p.r.protocol} ${p.r.summary.rps.toFixed(1)} req/s = ${p.x.toFixed(2)}×`).join('; ')}`,
  };
}

export function judgeTargets(rows: readonly ResultRow[], bare: ReadonlyMap<number, Summary>, raw: Summary | undefined, large: readonly LargeRow[]): TargetResult[] {
  return [batchedJsonVsBare(rows, bare), jsonOverheadVsRaw(rows, raw), largeBinaryVsJson(large)];
}
