/**
 * Running the CLI in tests. Two ways, one result shape:
 *
 * - `runCli(args, env)` — in this process, through `main(argv, ctx)`: stdout, stderr and the exit
 *   code are captured through the context. The default for tests about what a command does
 *   (its output, its errors, its exit code, what it stores): no process start, no build needed.
 * - `ferryCli(args, env)` (./env.ts) — the built `bin/ferry.js` as a real process. Only for tests
 *   about processes: crashes and SIGKILL, signals, several processes at once (locks, busy
 *   databases), long-running commands (serve, stream run, scheduler), or the binary itself.
 *
 * Both see only `PATH` plus the `env` given (never the test runner's own environment), so a
 * call can move from one to the other without changing what the command sees.
 */
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { CliResult } from './env.js';

/** A stream that keeps what is written to it, like a pipe read to the end. */
class Captured extends Writable {
  #chunks: Buffer[] = [];

  override _write(chunk: Buffer | string, encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.#chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    done();
  }

  get text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

/** Run `ferry <args>` in this process with this environment (plus PATH); never rejects. */
export async function runCli(args: readonly string[], env: Readonly<Record<string, string>>): Promise<CliResult> {
  const stdout = new Captured();
  const stderr = new Captured();
  const code = await main(['node', 'ferry', ...args], { stdout, stderr, env: { PATH: process.env.PATH ?? '', ...env } });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** `ferry register <path> --name <name>` for each model, failing the test on the first refusal. */
export async function registerModels(models: readonly { readonly name: string; readonly path: string }[], env: Readonly<Record<string, string>>): Promise<void> {
  for (const m of models) {
    const r = await runCli(['register', m.path, '--name', m.name], env);
    if (r.code !== 0) throw new Error(`ferry register ${m.path} --name ${m.name} exited ${r.code}: ${r.stderr}`);
  }
}
