/**
 * Server processes and cores: OIP REST JSON with batching on at concurrency 64 against
 * `ferry serve` laid out several ways — one process or `--processes 2`, on every core or
 * pinned to core 0 (`taskset -c 0`), node:cluster's round-robin hand-out or the shared socket
 * (SCHED_NONE) — every server started first, then measured in alternated rounds so drift in
 * the machine's load shows. The load generator is never pinned.
 */
import type { Driver } from './driver.js';
import { ms, rate } from './report.js';
import type { ProcessLayout } from './servers.js';
import type { Summary } from './stats.js';

export const PROCESS_CONCURRENCY = 64;

/** One way of running the server, with the cell id it is filtered by (`procs/<id>`). */
export interface NamedLayout extends ProcessLayout {
  readonly id: string;
  readonly label: string;
}

/** The layouts compared; `processes` is the N of `--processes N` (BENCH_PROCESSES). */
export function layouts(processes: number): NamedLayout[] {
  return [
    { id: 'all/p1', label: 'every core, 1 process', processes: 1 },
    { id: `all/p${processes}`, label: `every core, --processes ${processes} (round-robin)`, processes, schedPolicy: 'rr' },
    { id: `all/p${processes}-none`, label: `every core, --processes ${processes} (shared socket, SCHED_NONE)`, processes, schedPolicy: 'none' },
    { id: 'cpu0/p1', label: 'taskset -c 0, 1 process', processes: 1, cpus: '0' },
    { id: `cpu0/p${processes}`, label: `taskset -c 0, --processes ${processes}`, processes, cpus: '0' },
  ];
}

export interface ProcessRow {
  readonly layout: NamedLayout;
  readonly round: number;
  readonly summary: Summary;
  /** Share of the cell's requests answered by the busiest process (1 for one process), from `ferry_process_requests_total`. */
  readonly busiest: number;
  /** Rows per runtime call (`ferry_batch_size` sum / count over the cell, every process). */
  readonly batchRows: number;
}

/** Per-process request counts and the batch-size sum and count, from the server's summed /metrics. */
async function counters(url: string): Promise<{ perProcess: Map<string, number>; batchSum: number; batchCount: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const perProcess = new Map<string, number>();
  for (const m of text.matchAll(/^ferry_process_requests_total\{process="(\d+)"\} (\S+)$/gm)) perProcess.set(m[1]!, Number(m[2]));
  const one = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  return { perProcess, batchSum: one(/^ferry_batch_size_sum (\S+)$/m), batchCount: one(/^ferry_batch_size_count (\S+)$/m) };
}

/** Measure every layout once per round, rounds alternated; `measure` is the bench's cell runner. */
export async function processCells(cells: readonly { layout: NamedLayout; driver: Driver; url: string; pid: number | undefined }[], rounds: number, warmupSeconds: number, measure: (id: string, driver: Driver, pid: number | undefined) => Promise<Summary>): Promise<ProcessRow[]> {
  const rows: ProcessRow[] = [];
  // Each process warms its own JIT on a share of the requests: warm a server of N processes N − 1 more times first.
  for (const c of cells) if (warmupSeconds > 0 && c.layout.processes > 1) await c.driver.run({ concurrency: PROCESS_CONCURRENCY, seconds: warmupSeconds * (c.layout.processes - 1), maxRequests: 1e9 });
  for (let round = 1; round <= rounds; round++) {
    for (const c of cells) {
      const before = await counters(c.url);
      const summary = await measure(`procs/${c.layout.id}/c${PROCESS_CONCURRENCY}#${round}`, c.driver, c.pid);
      const after = await counters(c.url);
      // Warm-up requests count too: the share is over everything since `before`.
      const answered = [...after.perProcess].map(([p, n]) => n - (before.perProcess.get(p) ?? 0));
      const total = answered.reduce((a, b) => a + b, 0);
      rows.push({ layout: c.layout, round, summary, busiest: total > 0 ? Math.max(...answered) / total : Number.NaN, batchRows: (after.batchSum - before.batchSum) / (after.batchCount - before.batchCount) });
    }
  }
  return rows;
}

/** One row per layout and round, and the mean of the rounds; "vs 1 process" is over every core, 1 process, in the same round. */
export function processTable(rows: readonly ProcessRow[]): string {
  const base = (round: number) => rows.find((r) => r.round === round && r.layout.id === 'all/p1')?.summary.rps;
  const head = ['Server', 'Round', 'Requests/s', 'p50 ms', 'p99 ms', 'Errors', 'vs 1 process, every core', 'Busiest process', 'Rows per batch', 'Server CPU µs/req', 'Client CPU µs/req', 'Other load (cores)'];
  const lines = rows.map((r) => {
    const b = base(r.round);
    return [r.layout.label, String(r.round), rate(r.summary.rps), ms(r.summary.p50), ms(r.summary.p99), String(r.summary.errors), b ? `${(r.summary.rps / b).toFixed(2)}×` : '',
      Number.isFinite(r.busiest) ? `${(r.busiest * 100).toFixed(0)} %` : '', Number.isFinite(r.batchRows) ? r.batchRows.toFixed(1) : '',
      r.summary.serverCpuUs.toFixed(0), r.summary.clientCpuUs.toFixed(0), r.summary.otherCores.toFixed(2)];
  });
  const ids = [...new Set(rows.map((r) => r.layout.id))];
  const mean = (id: string) => {
    const picked = rows.filter((r) => r.layout.id === id);
    return picked.reduce((s, r) => s + r.summary.rps, 0) / (picked.length || 1);
  };
  const b = mean('all/p1');
  for (const id of ids) {
    const label = rows.find((r) => r.layout.id === id)?.layout.label ?? id;
    lines.push([`**${label}**`, 'mean', rate(mean(id)), '', '', '', b > 0 ? `${(mean(id) / b).toFixed(2)}×` : '', '', '', '', '', '']);
  }
  const align = ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
  return [head, align.map((a) => (a === 'r' ? '---:' : ':---')), ...lines].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
