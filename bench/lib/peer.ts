/**
 * The default `ferry serve` (no config file, no flags but the ports) against what a user writes
 * instead: FastAPI + uvicorn with the same MLP in TorchScript (bench/fastapi_server.py). OIP
 * JSON, one row per request, concurrency 64, alternated FastAPI, Ferry, FastAPI, Ferry so that
 * a change in the machine's load shows.
 */
import type { Driver } from './driver.js';
import { ms, rate, type TargetResult } from './report.js';
import type { Summary } from './stats.js';

export const PEER_CONCURRENCY = 64;
export const PEER_LABELS = { fastapi: 'FastAPI + uvicorn, 1 worker, TorchScript', ferry: '`ferry serve` (defaults)' } as const;

export interface PeerRow {
  readonly server: keyof typeof PEER_LABELS;
  readonly round: number;
  readonly summary: Summary;
}

/** Measure both servers twice, alternated; `fastapi` undefined = skipped (only Ferry is measured). */
export async function peerCells(drivers: { fastapi: Driver | undefined; ferry: Driver }, measure: (id: string, driver: Driver) => Promise<Summary>): Promise<PeerRow[]> {
  const rows: PeerRow[] = [];
  for (const round of [1, 2]) {
    for (const server of ['fastapi', 'ferry'] as const) {
      const driver = drivers[server];
      if (!driver) continue;
      rows.push({ server, round, summary: await measure(`peer/${server}/c${PEER_CONCURRENCY}#${round}`, driver) });
    }
  }
  return rows;
}

function mean(rows: readonly PeerRow[], server: PeerRow['server'], pick: (s: Summary) => number): number {
  const picked = rows.filter((r) => r.server === server);
  return picked.reduce((s, r) => s + pick(r.summary), 0) / (picked.length || 1);
}

export function peerTable(rows: readonly PeerRow[]): string {
  const fastapi = mean(rows, 'fastapi', (s) => s.rps);
  const head = ['Server', 'Round', 'Concurrency', 'Requests/s', 'p50 ms', 'p99 ms', 'Errors', 'vs FastAPI', 'Server CPU µs/req', 'Client CPU µs/req', 'Other load (cores)'];
  const lines = rows.map((r) => [
    PEER_LABELS[r.server], String(r.round), String(PEER_CONCURRENCY), rate(r.summary.rps), ms(r.summary.p50), ms(r.summary.p99), String(r.summary.errors),
    r.server === 'ferry' && fastapi > 0 ? `${(r.summary.rps / fastapi).toFixed(2)}×` : '', r.summary.serverCpuUs.toFixed(0), r.summary.clientCpuUs.toFixed(0), r.summary.otherCores.toFixed(2),
  ]);
  const align = ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'];
  return [head, align.map((a) => (a === 'r' ? '---:' : ':---')), ...lines].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** The default server ≥ 6× FastAPI's requests/s at concurrency 64 with a lower p99 (means of the rounds). */
export function peerTarget(rows: readonly PeerRow[], skipped: string | undefined): TargetResult {
  const name = `default \`ferry serve\` ≥ 6× FastAPI + uvicorn requests/s at concurrency ${PEER_CONCURRENCY}, with a lower p99`;
  if (skipped) return { name, met: undefined, detail: `FastAPI row skipped: ${skipped}` };
  const n = rows.filter((r) => r.server === 'fastapi').length;
  if (n === 0 || !rows.some((r) => r.server === 'ferry')) return { name, met: undefined, detail: 'cells not run' };
  const [f, p] = [mean(rows, 'ferry', (s) => s.rps), mean(rows, 'fastapi', (s) => s.rps)];
  const [f99, p99] = [mean(rows, 'ferry', (s) => s.p99), mean(rows, 'fastapi', (s) => s.p99)];
  const errors = rows.reduce((s, r) => s + r.summary.errors, 0);
  const x = f / p;
  return { name, met: x >= 6 && f99 < p99 && errors === 0, detail: `${rate(f)} vs ${rate(p)} req/s (means of ${n} rounds) = ${x.toFixed(2)}× (need 6×); p99 ${ms(f99)} vs ${ms(p99)} ms; ${errors} error(s)` };
}
