/** Start a real `ferry serve` process on free ports and talk to it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { FERRY_BIN } from './env.js';

export interface ServeProcess {
  url: string;
  grpcPort: number | null;
  proc: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/** `ferry serve --port 0 --grpc-port 0 …`; resolves when the server logs that it is serving. */
export function startServe(env: Readonly<Record<string, string>>, args: readonly string[] = []): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [FERRY_BIN, 'serve', '--port', '0', '--grpc-port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', FERRY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    // Generous: on a loaded 2-core CI machine a cold start (TypeScript build output, model loads) can take tens of seconds.
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`ferry serve did not start in 90 s:\n${out}`)); }, 90_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.includes('"ferry serving"')) continue;
        const info = JSON.parse(line) as { http: string; grpc: number | null };
        clearTimeout(timer);
        resolve({
          url: info.http,
          grpcPort: info.grpc,
          proc,
          output: () => out,
          stop: async () => {
            if (proc.exitCode === null) proc.kill('SIGTERM');
            return exited;
          },
        });
        return;
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`ferry serve exited with ${code}:\n${out}`)); });
  });
}

/**
 * Start several servers at once. If one fails to start, the others are stopped before the
 * error is thrown: an orphaned server would keep the test file's process running forever.
 */
export async function startServes(specs: readonly (readonly [Readonly<Record<string, string>>, readonly string[]])[]): Promise<ServeProcess[]> {
  const started = await Promise.allSettled(specs.map(([env, args]) => startServe(env, args)));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    for (const s of started) if (s.status === 'fulfilled') await s.value.stop();
    throw failed.reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<ServeProcess>).value);
}

/** POST JSON and return status, headers and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: parsed };
}
