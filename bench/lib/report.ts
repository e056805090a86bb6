/** The Markdown the bench prints and writes: one main table, the large-tensor table, the targets. */
import type { Summary } from './stats.js';

/** One row of the main table. */
export interface ResultRow {
  readonly target: string;
  /** 'off' / 'on', or '—' where batching does not apply. */
  readonly batching: string;
  /** Requests in flight; the raw run is sequential (1). */
  readonly concurrency: number;
  readonly summary: Summary;
}

/** One row of the large-tensor table. */
export interface LargeRow {
  readonly protocol: string;
  readonly requestBytes: number;
  readonly tensorBytes: number;
  readonly summary: Summary;
}

export interface TargetResult {
  readonly name: string;
  /** undefined: not measured in this run (filtered out). */
  readonly met: boolean | undefined;
  readonly detail: string;
}

export function ms(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

export function rate(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a';
}

function us(v: number): string {
  return Number.isFinite(v) ? v.toFixed(v < 10 ? 1 : 0) : '—';
}

function cores(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : '—';
}

function ratio(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '' : `${v.toFixed(2)}×`;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1);
}

function table(head: readonly string[], align: readonly ('l' | 'r')[], rows: readonly (readonly string[])[]): string {
  const sep = align.map((a) => (a === 'r' ? '---:' : ':---'));
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** The main table; "vs bare" is requests/s over the bare server's at the same concurrency. */
export function mainTable(rows: readonly ResultRow[], bare: ReadonlyMap<number, Summary>): string {
  return table(
    ['Target', 'Batching', 'Concurrency', 'Requests/s', 'p50 ms', 'p99 ms', 'Errors', 'vs bare', 'Server CPU µs/req', 'Client CPU µs/req', 'Other load (cores)'],
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows.map((r) => {
      // The in-process run has no HTTP at all: a ratio to the bare server would mean nothing.
      const floor = r.batching === '—' && r.target.includes('in process') ? undefined : bare.get(r.concurrency);
      return [r.target, r.batching, String(r.concurrency), rate(r.summary.rps), ms(r.summary.p50), ms(r.summary.p99), String(r.summary.errors), floor ? ratio(r.summary.rps / floor.rps) : '', us(r.summary.serverCpuUs), us(r.summary.clientCpuUs), cores(r.summary.otherCores)];
    }),
  );
}

export function largeTable(rows: readonly LargeRow[], concurrency: number): string {
  const json = rows.find((r) => r.protocol.startsWith('OIP REST JSON'))?.summary.rps;
  return table(
    ['Protocol', 'Concurrency', 'Request MB', 'Requests/s', 'Tensor MB/s', 'Wire MB/s (requests)', 'p50 ms', 'p99 ms', 'Errors', 'vs JSON', 'Server CPU ms/req', 'Client CPU ms/req', 'Other load (cores)'],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows.map((r) => [
      r.protocol, String(concurrency), mb(r.requestBytes), r.summary.rps.toFixed(1), mb(r.summary.rps * r.tensorBytes), mb(r.summary.rps * r.requestBytes),
      ms(r.summary.p50), ms(r.summary.p99), String(r.summary.errors), json ? ratio(r.summary.rps / json) : '',
      ms(r.summary.serverCpuUs / 1000), ms(r.summary.clientCpuUs / 1000), cores(r.summary.otherCores),
    ]),
  );
}

export function targetsList(targets: readonly TargetResult[]): string {
  return targets.map((t) => `- **${t.met === undefined ? 'not measured' : t.met ? 'met' : 'NOT met'}** — ${t.name}: ${t.detail}`).join('\n');
}
