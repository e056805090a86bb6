/** Child processes (and temporary directories) of the bench: always stopped and removed, even on error. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

/** SIGKILL whatever is still running and remove temporary directories when the bench exits, however it exits. */
process.on('exit', () => {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed by the returned function or at exit at the latest. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return { dir, remove: () => { rmSync(dir, { recursive: true, force: true }); dirs.delete(dir); } };
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().finally(() => process.exit(130));
  });
}

export interface Child {
  readonly proc: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions<T> {
  /** The program (default: this Node). */
  readonly command?: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** Returns what the child reported once a line of its output shows it is ready. */
  readonly ready: (line: string) => T | undefined;
  readonly timeoutMs?: number;
}

/** Start `node …args` (or `command …args`) and resolve once `ready` recognises a line of its output. */
export function startChild<T>(what: string, options: StartOptions<T>): Promise<{ child: Child; info: T }> {
  const proc = spawn(options.command ?? process.execPath, [...options.args], { cwd: options.cwd, env: { ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => { live.delete(proc); resolve(); }));
  const child: Child = {
    proc,
    output: () => out,
    stop: async (graceMs = 10_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${what} did not start in time:\n${out}`)); }, options.timeoutMs ?? 60_000);
    let pending = '';
    let done = false;
    const onData = (d: Buffer) => {
      out += d.toString();
      if (done) return;
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const info = options.ready(line);
        if (info === undefined) continue;
        done = true;
        clearTimeout(timer);
        resolve({ child, info });
        return;
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    void exited.then(() => {
      clearTimeout(timer);
      if (!done) reject(new Error(`${what} exited with ${proc.exitCode ?? proc.signalCode}:\n${out}`));
    });
  });
}

/** Stop every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => new Promise<void>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
    setTimeout(() => p.kill('SIGKILL'), 5000).unref();
  })));
}
