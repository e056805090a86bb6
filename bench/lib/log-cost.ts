/**
 * The prediction log's cost: OIP REST JSON with batching on at concurrency 64 (the server's
 * cheapest requests, so logging weighs most), against `bcb` (logging off) and `bcbl` (the same
 * model and batching with `log: true`, every request logged), off/on/off/on so drift in the
 * machine's load shows. Written and dropped rows come from the server's /metrics afterwards:
 * a writer that dropped rows would look cheap without logging everything.
 */
import type { Driver } from './driver.js';
import { ms, rate, type TargetResult } from './report.js';
import type { Summary } from './stats.js';

export const LOG_CONCURRENCY = 64;

/** One measured cell of the logging section. */
export interface LogRow {
  readonly logging: 'off' | 'on';
  readonly round: number;
  readonly summary: Summary;
  /** Rows the server wrote / dropped during this cell (on only). */
  readonly written?: number;
  readonly dropped?: number;
}

/** The server's prediction-log counters (written, dropped), from its Prometheus text. */
export async function logCounters(url: string): Promise<{ written: number; dropped: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (re: RegExp) => [...text.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
  return {
    written: value(/^ferry_prediction_log_written_total (\S+)$/gm),
    dropped: value(/^ferry_prediction_log_dropped_total\{[^}]*\} (\S+)$/gm),
  };
}

/**
 * Measure off/on `rounds` times, alternated; `measure` is the bench's cell runner. On a shared
 * 2-core machine one cell's requests/s moves by ±15 % from one 4-second cell to the next (the
 * load generator and other machines' work share the cores), so the target is judged on the
 * means over several rounds (BENCH_LOG_ROUNDS, default 6), never one pair. One unrecorded round
 * goes first: the first logged cell also paid for starting the writer thread, compiling the
 * logging path and warming the log's pages (measured: 154 µs of server CPU per request against
 * 105–111 in the logged cells after it, the same server).
 */
export async function logCells(url: string, drivers: { off: Driver; on: Driver }, measure: (id: string, driver: Driver) => Promise<Summary>, rounds = 6, warm?: (driver: Driver) => Promise<void>): Promise<LogRow[]> {
  const rows: LogRow[] = [];
  if (warm) for (const logging of ['off', 'on'] as const) await warm(drivers[logging]);
  for (let round = 1; round <= rounds; round++) {
    for (const logging of ['off', 'on'] as const) {
      const before = await logCounters(url);
      const summary = await measure(`log/${logging}/c${LOG_CONCURRENCY}#${round}`, drivers[logging]);
      if (logging === 'on') {
        // Let the writer finish the rows of this cell before reading the counters.
        await new Promise((r) => setTimeout(r, 1000));
        const after = await logCounters(url);
        rows.push({ logging, round, summary, written: after.written - before.written, dropped: after.dropped - before.dropped });
      } else rows.push({ logging, round, summary });
    }
  }
  return rows;
}

function total(rows: readonly LogRow[], logging: 'off' | 'on'): { rps: number; n: number } {
  const picked = rows.filter((r) => r.logging === logging);
  return { rps: picked.reduce((s, r) => s + r.summary.rps, 0) / (picked.length || 1), n: picked.length };
}

export function logTable(rows: readonly LogRow[]): string {
  const off = total(rows, 'off').rps;
  const head = ['Prediction log', 'Round', 'Concurrency', 'Requests/s', 'p50 ms', 'p99 ms', 'Errors', 'vs logging off', 'Rows written', 'Rows dropped', 'Server CPU µs/req', 'Other load (cores)'];
  const lines = rows.map((r) => [
    r.logging === 'on' ? 'on (100 % sampling)' : 'off', String(r.round), String(LOG_CONCURRENCY), rate(r.summary.rps), ms(r.summary.p50), ms(r.summary.p99), String(r.summary.errors),
    r.logging === 'on' && off > 0 ? `${(r.summary.rps / off).toFixed(2)}×` : '', r.written === undefined ? '' : rate(r.written), r.dropped === undefined ? '' : rate(r.dropped),
    r.summary.serverCpuUs.toFixed(0), r.summary.otherCores.toFixed(2),
  ]);
  const align = ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
  return [head, align.map((a) => (a === 'r' ? '---:' : ':---')), ...lines].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Logging on at 100 % keeps ≥ 90 % of the requests/s of logging off, and writes every row. */
export function logTarget(rows: readonly LogRow[]): TargetResult {
  const name = `prediction log at 100 % sampling costs ≤ 10 % of requests/s (OIP JSON, batching on, concurrency ${LOG_CONCURRENCY})`;
  const off = total(rows, 'off');
  const on = total(rows, 'on');
  if (off.n === 0 || on.n === 0) return { name, met: undefined, detail: 'cells not run' };
  const x = on.rps / off.rps;
  const dropped = rows.reduce((s, r) => s + (r.dropped ?? 0), 0);
  const errors = rows.reduce((s, r) => s + r.summary.errors, 0);
  return { name, met: x >= 0.9 && dropped === 0 && errors === 0, detail: `on ${rate(on.rps)} vs off ${rate(off.rps)} req/s (mean of ${on.n}) = ${x.toFixed(2)}× (need ≥ 0.90); ${rate(dropped)} row(s) dropped; ${errors} error(s)` };
}
