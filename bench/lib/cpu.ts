/** CPU time of processes (all threads), to turn a run into CPU microseconds per request. */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time of every thread of `pid` so far, in ms (Linux /proc); NaN where unavailable. */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
    return ns / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** `pid` and every process below it (the server processes of `ferry serve --processes N`), from /proc/<pid>/task/<tid>/children. */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${out[i]}/task`)) {
        const children = readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim();
        if (children) out.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** CPU time of `pid` and its descendants so far (all threads), in ms; NaN where unavailable. */
export function processTreeCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  return processTree(pid).reduce((sum, p) => {
    const ms = processCpuMs(p);
    return Number.isFinite(ms) ? sum + ms : sum;
  }, 0) || processCpuMs(pid);
}

/** CPU time of this process so far, in ms. */
export function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Busy CPU time of the whole machine so far (all cores, /proc/stat at USER_HZ = 100), in ms; NaN where unavailable. */
export function machineBusyMs(): number {
  try {
    const [cpu = ''] = readFileSync('/proc/stat', 'utf8').split('\n');
    const [, user, nice, system, , , irq, softirq, steal] = cpu.trim().split(/\s+/).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 10;
  } catch {
    return Number.NaN;
  }
}

/** CPU readings around a measured run: the server's, this process's and the whole machine's. */
export interface CpuSnapshot {
  readonly server: number;
  readonly client: number;
  readonly machine: number;
}

/** Readings now; the server's CPU includes its child processes (a process that ended meanwhile drops out: keep its server running across a cell). */
export function cpuSnapshot(serverPid: number | undefined): CpuSnapshot {
  return { server: processTreeCpuMs(serverPid), client: selfCpuMs(), machine: machineBusyMs() };
}

/** What the run used: server and client ms, and the cores other processes kept busy meanwhile. */
export function cpuUsed(before: CpuSnapshot, after: CpuSnapshot, seconds: number): { serverCpuMs: number; clientCpuMs: number; otherCores: number } {
  const serverCpuMs = after.server - before.server;
  const clientCpuMs = after.client - before.client;
  const own = (Number.isFinite(serverCpuMs) ? serverCpuMs : 0) + clientCpuMs;
  const other = Math.max(0, after.machine - before.machine - own);
  return { serverCpuMs, clientCpuMs, otherCores: other / 1000 / seconds };
}
