/** The two servers under load: `ferry serve` (built CLI) and the bare node:http floor. */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, tempDir, type Child } from './children.js';
import { MODEL_PATH, ROOT } from './fixture.js';

const FERRY_BIN = join(ROOT, 'bin/ferry.js');

/** Model names in the bench's ferry.yaml. */
export const MODELS = { off: 'bc', on: 'bcb', onLogged: 'bcbl', defaults: 'bcd' } as const;

export interface BatchingOptions {
  readonly maxBatchSize: number;
  readonly maxQueueDelayUs: number;
}

/** How the server's processes are laid out (the processes section, bench/lib/processes.ts). */
export interface ProcessLayout {
  /** `ferry serve --processes N` (1: the flag is not given). */
  readonly processes: number;
  /** `taskset -c <cpus>` around the server (its children inherit the mask); undefined = every core. */
  readonly cpus?: string | undefined;
  /** node:cluster's scheduling: `rr` (the primary hands out connections; Node's default on Linux) or `none` (every process accepts on the shared socket). */
  readonly schedPolicy?: 'rr' | 'none' | undefined;
  /** More `ferry serve` flags. */
  readonly args?: readonly string[] | undefined;
  /** Another build's `bin/ferry.js` (an A/B of two builds, bench/ab.ts); default: this checkout's. */
  readonly bin?: string | undefined;
  /** Node options before the script (e.g. `--single-threaded-gc`); the processes of `--processes N` inherit them. */
  readonly nodeArgs?: readonly string[] | undefined;
  /** More environment variables for the server. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** More top-level `ferry.yaml` lines (e.g. `inline_below_ms: 1`). */
  readonly yaml?: readonly string[] | undefined;
}

export interface FerryServer {
  readonly url: string;
  readonly grpcAddress: string;
  readonly child: Child;
  /** Stop the server and remove its FERRY_HOME. */
  stop(): Promise<void>;
}

export interface BareServer {
  readonly url: string;
  readonly child: Child;
  stop(): Promise<void>;
}

/**
 * `--cpu-prof` flags when profiling: profiles go to `<dir>/<name>/` on exit, one per thread
 * (Node's default file names; under tsx the loader thread writes one too, the small one).
 */
function profileFlags(dir: string | undefined, name: string): string[] {
  return dir ? ['--cpu-prof', '--cpu-prof-dir', join(dir, name)] : [];
}

/** Environment of a server child: nothing inherited but PATH (and ORT thread settings, if set). */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...extra };
  for (const key of ['FERRY_ONNX_INTRA_OP_THREADS', 'FERRY_ONNX_INTER_OP_THREADS']) {
    const v = process.env[key];
    if (v) env[key] = v;
  }
  return env;
}

function runCli(args: readonly string[], env: Record<string, string>, bin = FERRY_BIN): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [bin, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ferry ${args.join(' ')} exited with ${code}:\n${out}`))));
  });
}

function ferryYaml(batching: BatchingOptions, top: readonly string[] = []): string {
  return [
    ...top,
    'models:',
    `  - name: ${MODELS.off}`,
    '    batching: false',
    `  - name: ${MODELS.on}`,
    '    batching:',
    `      max_batch_size: ${batching.maxBatchSize}`,
    `      max_queue_delay_us: ${batching.maxQueueDelayUs}`,
    // The same model and batching with every request in the prediction log (bench/lib/log-cost.ts).
    `  - name: ${MODELS.onLogged}`,
    '    log: true',
    '    batching:',
    `      max_batch_size: ${batching.maxBatchSize}`,
    `      max_queue_delay_us: ${batching.maxQueueDelayUs}`,
    '',
  ].join('\n');
}

/** A temporary FERRY_HOME with the fixture registered twice (batching off / on), and `ferry serve` on it. */
export async function startFerry(batching: BatchingOptions, profileDir?: string, layout: ProcessLayout = { processes: 1 }): Promise<FerryServer> {
  const { dir: home, remove } = tempDir('ferry-bench-');
  try {
    const env = childEnv({ FERRY_HOME: home, ...layout.env });
    const bin = layout.bin ?? FERRY_BIN;
    for (const name of [MODELS.off, MODELS.on, MODELS.onLogged]) await runCli(['register', MODEL_PATH, '--name', name], env, bin);
    const config = join(home, 'ferry.yaml');
    writeFileSync(config, ferryYaml(batching, layout.yaml));
    const node = [...(layout.nodeArgs ?? []), ...serverNodeArgs(), ...profileFlags(profileDir, layout.processes > 1 ? `ferry-p${layout.processes}` : 'ferry'), bin, 'serve', '--port', '0', '--grpc-port', '0', '--config', config, ...(layout.processes > 1 ? ['--processes', String(layout.processes)] : []), ...(layout.args ?? [])];
    const { child, info } = await startChild<{ http: string; grpc: number }>(`ferry serve${layout.processes > 1 ? ` --processes ${layout.processes}` : ''}${layout.cpus ? ` (taskset -c ${layout.cpus})` : ''}`, {
      cwd: ROOT,
      // taskset execs node: the child's pid stays the server's.
      ...(layout.cpus ? { command: 'taskset', args: ['-c', layout.cpus, process.execPath, ...node] } : { args: node }),
      // info: the "ferry serving" line carries the URL and gRPC port; per-request logs are off at this level anyway.
      env: { ...env, FERRY_LOG_LEVEL: 'info', ...(layout.schedPolicy ? { NODE_CLUSTER_SCHED_POLICY: layout.schedPolicy } : {}) },
      ready: (line) => (line.includes('"ferry serving"') ? JSON.parse(line) as { http: string; grpc: number } : undefined),
    });
    return {
      url: info.http,
      grpcAddress: `127.0.0.1:${info.grpc}`,
      child,
      stop: async () => {
        await child.stop();
        saveOutput(child.output());
        remove();
      },
    };
  } catch (err) {
    remove();
    throw err;
  }
}

/** `BENCH_SERVER_NODE_ARGS`: Node options for the `ferry serve` processes the bench starts (e.g. `--trace-gc`). */
function serverNodeArgs(): string[] {
  return (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
}

/** `BENCH_SERVER_OUTPUT`: a file each stopped `ferry serve` appends its output to (what `--trace-gc` printed). */
function saveOutput(text: string): void {
  const file = process.env.BENCH_SERVER_OUTPUT;
  if (file) appendFileSync(file, text);
}

/**
 * bench/bare-server.ts in its own process (TypeScript through tsx, compiled once at start);
 * `canned`: the no-model variant that measures the load generator's ceiling.
 */
export async function startBare(profileDir?: string, canned = false): Promise<BareServer> {
  const name = canned ? 'canned' : 'bare';
  const { child, info } = await startChild<{ port: number }>(`${name} server`, {
    cwd: ROOT,
    args: [...profileFlags(profileDir, name), '--import', 'tsx', join(ROOT, 'bench/bare-server.ts'), MODEL_PATH, ...(canned ? ['--canned'] : [])],
    env: childEnv({}),
    ready: (line) => (line.startsWith('{"port":') ? JSON.parse(line) as { port: number } : undefined),
  });
  return { url: `http://127.0.0.1:${info.port}`, child, stop: () => child.stop() };
}

/** `ferry serve` as a user first starts it: a home with the fixture registered, no config file, no flags but the ports. */
export async function startDefaultFerry(profileDir?: string): Promise<FerryServer> {
  const { dir: home, remove } = tempDir('ferry-bench-default-');
  try {
    const env = childEnv({ FERRY_HOME: home });
    await runCli(['register', MODEL_PATH, '--name', MODELS.defaults], env);
    const { child, info } = await startChild<{ http: string; grpc: number }>('ferry serve (defaults)', {
      cwd: ROOT,
      args: [...profileFlags(profileDir, 'ferry-default'), FERRY_BIN, 'serve', '--port', '0', '--grpc-port', '0'],
      env: { ...env, FERRY_LOG_LEVEL: 'info' },
      ready: (line) => (line.includes('"ferry serving"') ? JSON.parse(line) as { http: string; grpc: number } : undefined),
    });
    return { url: info.http, grpcAddress: `127.0.0.1:${info.grpc}`, child, stop: async () => { await child.stop(); remove(); } };
  } catch (err) {
    remove();
    throw err;
  }
}

/** Debian's BLAS/LAPACK alternative directories: where python3-numpy and python3-torch find liblapack.so.3 when the alternatives links are missing. */
function blasDirs(): string[] {
  const lib = '/usr/lib';
  if (!existsSync(lib)) return [];
  return readdirSync(lib).filter((d) => d.endsWith('-linux-gnu')).flatMap((d) => ['lapack', 'blas'].map((x) => join(lib, d, x))).filter((d) => existsSync(d));
}

/** The FastAPI + uvicorn peer (bench/fastapi_server.py), or why it cannot run here. */
export async function startFastApi(): Promise<BareServer | { skipped: string }> {
  const python = ['/usr/bin/python3', 'python3'].find((p) => p.startsWith('/') ? existsSync(p) : true) ?? 'python3';
  const ld = [process.env.LD_LIBRARY_PATH, ...blasDirs()].filter(Boolean).join(':');
  try {
    const { child, info } = await startChild<{ port: number }>('FastAPI server', {
      command: python,
      cwd: ROOT,
      args: [join(ROOT, 'bench/fastapi_server.py'), MODEL_PATH],
      env: { PATH: process.env.PATH ?? '', ...(ld ? { LD_LIBRARY_PATH: ld } : {}) },
      ready: (line) => (line.startsWith('{"port":') ? JSON.parse(line) as { port: number } : undefined),
    });
    return { url: `http://127.0.0.1:${info.port}`, child, stop: () => child.stop() };
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const missing = /missing: (\S+)/.exec(text)?.[1];
    return { skipped: missing ? `Python package ${missing} is not installed (Debian: python3-fastapi, python3-uvicorn, python3-uvloop, python3-httptools, python3-torch, python3-onnx)` : `the FastAPI server did not start: ${text.split('\n').slice(0, 3).join(' ')}` };
  }
}
