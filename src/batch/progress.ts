import type { BatchRun, RunCounts } from './types.js';

/** Where progress goes: a bar on a terminal, else one JSON line per interval. */
export interface ProgressOptions {
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  readonly intervalMs: number;
  /** Force JSON lines even on a terminal. */
  readonly json?: boolean;
}

/** Shows a run's progress: rows, rows/s and ETA. */
export class Progress {
  readonly #options: ProgressOptions;
  readonly #tty: boolean;
  #started = performance.now();
  #startRows = 0;
  #last = 0;
  #run = '';
  #total: number | null = null;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#tty = options.stream.isTTY === true && options.json !== true;
  }

  start(run: string, total: number | null, already: RunCounts): void {
    this.#run = run;
    this.#total = total;
    this.#started = performance.now();
    this.#startRows = already.rowsIn + already.skipped;
    this.#last = 0;
  }

  update(counts: RunCounts, force = false): void {
    const now = performance.now();
    if (!force && now - this.#last < (this.#tty ? 200 : this.#options.intervalMs)) return;
    this.#last = now;
    const read = counts.rowsIn + counts.skipped;
    const seconds = (now - this.#started) / 1000;
    const rate = seconds > 0 ? (read - this.#startRows) / seconds : 0;
    const eta = this.#total !== null && rate > 0 ? Math.max(0, (this.#total - read) / rate) : null;
    if (this.#tty) {
      const share = this.#total ? Math.min(1, read / this.#total) : 0;
      const width = 24;
      const bar = this.#total ? `[${'#'.repeat(Math.round(share * width)).padEnd(width, '-')}] ${(share * 100).toFixed(0).padStart(3)}% ` : '';
      const line = `${bar}${read.toLocaleString('en')}${this.#total ? `/${this.#total.toLocaleString('en')}` : ''} rows  ${Math.round(rate).toLocaleString('en')} rows/s${eta !== null ? `  ETA ${formatSeconds(eta)}` : ''}  rejected ${counts.rejected}`;
      this.#options.stream.write(`\r\x1b[2K${line}`);
    } else {
      this.#options.stream.write(`${JSON.stringify({ event: 'progress', run: this.#run, rows: read, total: this.#total, scored: counts.scored, rejected: counts.rejected, rowsPerSecond: Math.round(rate), etaSeconds: eta === null ? null : Math.round(eta) })}\n`);
    }
  }

  /** End the bar's line (the caller prints the summary). */
  end(): void {
    if (this.#tty) this.#options.stream.write('\n');
  }
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A run as `ferry batch runs --json` and the dashboard show it: counts, progress and ETA of running runs, rows/s. */
export function runView(r: BatchRun): Record<string, unknown> & { progress: string; rowsPerSecond: number; seconds: number } {
  const seconds = r.status === 'running' && r.finishedAt === null ? Math.max(r.activeMs / 1000, (Date.parse(r.updatedAt) - Date.parse(r.startedAt)) / 1000) : r.activeMs / 1000;
  const read = r.counts.rowsIn + r.counts.skipped;
  const rowsPerSecond = seconds > 0 ? Math.round(read / seconds) : 0;
  const share = r.total ? Math.min(1, read / r.total) : null;
  const eta = r.status === 'running' && r.total && rowsPerSecond > 0 ? (r.total - read) / rowsPerSecond : null;
  const progressText = r.status === 'succeeded' ? 'done' : `${share === null ? '' : `${Math.round(share * 100)}% `}${read}${r.total !== null ? `/${r.total}` : ''}${eta !== null ? ` ETA ${formatSeconds(eta)}` : ''}`;
  return {
    id: r.id, runId: r.spec.runId, job: r.job, model: r.model, version: r.version, status: r.status, startedAt: r.startedAt, updatedAt: r.updatedAt, finishedAt: r.finishedAt,
    total: r.total, ...r.counts, chunks: r.chunks, seconds: Math.round(seconds * 10) / 10, rowsPerSecond, progress: progressText, etaSeconds: eta === null ? null : Math.round(eta),
    input: r.spec.input, output: r.spec.output, shard: r.spec.shard ?? null, ignoredColumns: r.checkpoint?.ignoredColumns ?? [], strictColumns: r.spec.strictColumns === true, error: r.error,
  };
}
