/**
 * A server's side of the drift thread: one worker per process, started on the first job and ended
 * after IDLE_MS without a job (it holds no memory between requests and never keeps a process
 * alive). Pages of the log go to it as they are read; the answer is the drift result. A thread that
 * dies fails its jobs and is started again by the next one.
 */
import { Worker } from 'node:worker_threads';
import { ferry } from '../core/errors.js';
import type { DriftOptions, DriftResult } from './drift.js';
import type { RawLoggedRow } from './log-columns.js';
import type { DriftJobReply, DriftJobRequest } from './drift-thread-protocol.js';
import type { Profile } from './profile.js';

const THREAD = new URL(import.meta.url.endsWith('.ts') ? './drift-thread-dev.mjs' : './drift-thread.js', import.meta.url);

type Result = { readonly features: DriftResult; readonly predictions: DriftResult | null };

interface Pending {
  resolve(result: Result): void;
  reject(err: Error): void;
}

/** How long an idle thread is kept for the next request. */
const IDLE_MS = 2000;

let worker: Worker | undefined;
let nextJob = 1;
const pending = new Map<number, Pending>();
/** Jobs started and not yet answered or cancelled. */
let open = 0;
let idleTimer: NodeJS.Timeout | undefined;

function jobStarted(): void {
  open++;
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
}

function jobEnded(): void {
  open--;
  if (open > 0 || !worker) return;
  const w = worker;
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    if (worker === w && open === 0) {
      worker = undefined;
      void w.terminate();
    }
  }, IDLE_MS);
  idleTimer.unref();
}

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(THREAD);
  w.unref();
  w.on('message', (reply: DriftJobReply) => {
    const p = pending.get(reply.job);
    if (!p) return;
    pending.delete(reply.job);
    jobEnded();
    if ('error' in reply) p.reject(ferry(reply.error.code, reply.error.params));
    else p.resolve(reply.result);
  });
  const fail = (err: Error) => {
    if (worker !== w) return; // ended when idle
    worker = undefined;
    dead.add(w);
    for (const [job, p] of pending) {
      p.reject(ferry('FERRY_E_INTERNAL', { detail: `the drift thread stopped: ${err.message}` }));
      pending.delete(job);
      jobEnded();
    }
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  worker = w;
  return w;
}

/** One drift computation in the thread. */
export interface DriftJob {
  add(rows: readonly RawLoggedRow[]): void;
  finish(): Promise<Result>;
  cancel(): void;
}

/** Threads that died: a job started on one fails at `finish` instead of waiting forever. */
const dead = new WeakSet<Worker>();

export function startDriftJob(profile: Profile, inputColumns: Readonly<Record<string, readonly string[]>>, options: DriftOptions): DriftJob {
  const job = nextJob++;
  const w = thread();
  jobStarted();
  let ended = false;
  const end = () => {
    if (ended) return false;
    ended = true;
    return true;
  };
  const send = (m: DriftJobRequest) => w.postMessage(m);
  send({ kind: 'start', job, profile, inputColumns, options });
  return {
    add: (rows) => send({ kind: 'rows', job, rows }),
    finish: () => new Promise<Result>((resolve, reject) => {
      if (!end()) return reject(ferry('FERRY_E_INTERNAL', { detail: 'drift job finished twice' }));
      if (dead.has(w)) {
        jobEnded();
        return reject(ferry('FERRY_E_INTERNAL', { detail: 'the drift thread stopped during the job' }));
      }
      pending.set(job, { resolve, reject });
      send({ kind: 'finish', job });
    }),
    cancel: () => {
      if (!end()) return;
      if (!dead.has(w)) send({ kind: 'cancel', job });
      jobEnded();
    },
  };
}
