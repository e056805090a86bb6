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

/** CPU time of this process so far, in ms. */
export function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
