import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { MetricsSnapshot } from '../process-group.js';
import { isToPrimary, SLOT_ENV, type Answer, type Question, type ToServer } from './messages.js';

/** How long a relayed question waits for the processes' answers: a scrape must not hang on a stuck process; a change may load a model. */
const ANSWER_TIMEOUT_MS: Readonly<Record<Question['kind'], number>> = { metrics: 5_000, traffic: 5_000, change: 120_000 };
/** A process that exits sooner than this after its start counts as a failed start: its slot is restarted with a growing delay. */
const QUICK_EXIT_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

interface Slot {
  readonly slot: number;
  worker: Worker;
  startedAt: number;
  listening: boolean;
  /** Failed starts in a row. */
  failures: number;
  restart: NodeJS.Timeout | undefined;
}

interface Relay {
  readonly from: Worker;
  readonly id: number;
  readonly question: Question;
  readonly waiting: Set<number>;
  readonly answers: Answer[];
  readonly timer: NodeJS.Timeout;
}

/**
 * The primary of `ferry serve --processes N`: forks N server processes (this same command, told
 * their slot by `FERRY_SERVE_PROCESS`), which share the HTTP and gRPC ports through
 * `node:cluster` (the primary accepts and hands connections round-robin). It opens no model
 * and no database: it restarts a process that dies, relays questions between processes (metrics,
 * changes to what is served), and on SIGTERM/SIGINT has every process drain, then exits.
 * Resolves once every process has exited: whether the server had started (every process
 * listening), and the exit code of the process that failed to start, or 1 when a process did
 * not drain cleanly, else 0.
 */
export function runPrimary(processes: number, logger: Logger): Promise<{ readonly started: boolean; readonly code: number }> {
  const slots = new Map<number, Slot>();
  const bySlot = (w: Worker) => [...slots.values()].find((s) => s.worker === w);
  const relays = new Map<number, Relay>();
  /** Each process's latest metrics (by worker id), kept so a dead process's counts survive it. */
  const latest = new Map<number, MetricsSnapshot>();
  /** Counters and histograms of processes that died, summed: added to every aggregation. */
  let retired: MetricsSnapshot = [];
  let nextRelay = 0;
  let started = false;
  let stopping = false;

  return new Promise((resolve) => {
    const fork = (slot: number) => {
      const worker = cluster.fork({ [SLOT_ENV]: String(slot) });
      // A message to a process that is exiting fails on its channel: that process's exit is handled below.
      worker.on('error', (err) => logger.warn({ err, process: slot }, 'server process channel error'));
      const s = slots.get(slot);
      if (s) {
        s.worker = worker;
        s.startedAt = Date.now();
        s.listening = false;
        s.restart = undefined;
      } else {
        slots.set(slot, { slot, worker, startedAt: Date.now(), listening: false, failures: 0, restart: undefined });
      }
      logger.info({ process: slot, pid: worker.process.pid }, 'server process started');
    };

    const send = (w: Worker, m: ToServer) => {
      if (w.isConnected()) w.send(m);
    };

    const finish = (gid: number) => {
      const r = relays.get(gid);
      if (!r) return;
      relays.delete(gid);
      clearTimeout(r.timer);
      const answers = r.question.kind === 'metrics' && retired.length > 0 ? [...r.answers, retired] : r.answers;
      send(r.from, { ferry: 'answers', id: r.id, answers });
    };

    const ask = (from: Worker, id: number, question: Question, self: boolean) => {
      const gid = ++nextRelay;
      const targets = [...slots.values()].filter((s) => s.listening && s.worker.isConnected() && (self || s.worker !== from)).map((s) => s.worker);
      const relay: Relay = { from, id, question, waiting: new Set(targets.map((w) => w.id)), answers: [], timer: setTimeout(() => {
        logger.warn({ question: question.kind, missing: [...relay.waiting] }, 'server processes did not answer in time; answering without them');
        finish(gid);
      }, ANSWER_TIMEOUT_MS[question.kind]) };
      relays.set(gid, relay);
      if (targets.length === 0) return finish(gid);
      for (const w of targets) send(w, { ferry: 'question', id: gid, question });
    };

    const answered = (w: Worker, gid: number, answer: Answer) => {
      const r = relays.get(gid);
      if (!r?.waiting.delete(w.id)) return;
      r.answers.push(answer);
      if (r.question.kind === 'metrics' && Array.isArray(answer)) latest.set(w.id, answer);
      if (r.waiting.size === 0) finish(gid);
    };

    const retire = async (w: Worker) => {
      const last = latest.get(w.id);
      latest.delete(w.id);
      if (!last) return;
      // Gauges describe a live process; counters and histograms are history that must not go backwards.
      // (prom-client declares `type` as an enum; at run time it is the Prometheus type name.)
      const kept = last.filter((m) => ['counter', 'histogram'].includes(String(m.type)));
      retired = await AggregatorRegistry.aggregate([retired, kept]).getMetricsAsJSON();
    };

    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: killing the server processes');
        for (const s of slots.values()) s.worker.process.kill('SIGKILL');
        return;
      }
      stopping = true;
      logger.info({ signal, processes: slots.size }, 'shutting down: every server process drains its in-flight requests');
      for (const s of slots.values()) {
        clearTimeout(s.restart);
        s.restart = undefined;
        if (!s.worker.isDead()) s.worker.process.kill('SIGTERM');
      }
      done();
    };
    let code = 0;
    const done = () => {
      if (![...slots.values()].every((s) => s.worker.isDead())) return;
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      cluster.off('message', onMessage);
      cluster.off('exit', onExit);
      resolve({ started, code });
    };

    const onMessage = (w: Worker, m: unknown) => {
      if (!isToPrimary(m)) return;
      if (m.ferry === 'ask') return ask(w, m.id, m.question, m.self);
      if (m.ferry === 'answer') return answered(w, m.id, m.answer);
      const s = bySlot(w);
      if (!s) return;
      s.listening = true;
      if (started) {
        logger.info({ process: s.slot, pid: w.process.pid }, 'server process replaced and listening');
        return;
      }
      if ([...slots.values()].every((x) => x.listening)) {
        started = true;
        logger.info({ http: m.http, ui: `${m.http}/ui/`, grpc: m.grpc, processes, pids: [...slots.values()].map((x) => x.worker.process.pid) }, 'ferry serving');
      }
    };

    const onExit = (w: Worker, exitCode: number | null, signal: string | null) => {
      const s = bySlot(w);
      for (const [gid, r] of relays) if (r.waiting.delete(w.id) && r.waiting.size === 0) finish(gid);
      retire(w).catch((err: unknown) => logger.warn({ err }, 'the counts of an exited server process could not be kept'));
      if (!s) return;
      if (stopping) {
        if (exitCode !== 0 && code === 0) code = 1;
        logger.info({ process: s.slot, pid: w.process.pid, code: exitCode, signal }, 'server process stopped');
        return done();
      }
      if (!started) {
        // A process that cannot start (port taken, bad model store) will not start on a retry either.
        logger.error({ process: s.slot, pid: w.process.pid, code: exitCode, signal }, 'a server process exited while starting; stopping the others');
        code = exitCode || 1;
        stopping = true;
        for (const x of slots.values()) if (!x.worker.isDead()) x.worker.process.kill('SIGTERM');
        return done();
      }
      const quick = Date.now() - s.startedAt < QUICK_EXIT_MS;
      s.failures = quick ? s.failures + 1 : 0;
      const delay = quick ? Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (s.failures - 1)) : 0;
      logger.error({ process: s.slot, pid: w.process.pid, code: exitCode, signal, restartInMs: delay }, 'server process exited unexpectedly; starting a replacement');
      s.listening = false;
      s.restart = setTimeout(() => fork(s.slot), delay);
    };

    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    cluster.on('message', onMessage);
    cluster.on('exit', onExit);
    for (let slot = 1; slot <= processes; slot++) fork(slot);
  });
}
