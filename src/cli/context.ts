import type { Command } from 'commander';
import type { Ferry } from '../main/ferry.js';
import type { RegistryRoot } from '../main/registry-root.js';
import { loadConfig, type FerryConfig } from '../core/config.js';
import { ferry } from '../core/errors.js';

/** What every command gets: where to write, and how to open Ferry from the environment. */
export interface CliContext {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Open what `open` builds from the environment's config for one command, and always close it. */
async function withOpened<P extends { close(): Promise<void> }, T>(ctx: CliContext, open: (config: FerryConfig) => Promise<P>, fn: (parts: P, config: FerryConfig) => Promise<T>): Promise<T> {
  const config = loadConfig(ctx.env);
  const parts = await open(config);
  try {
    return await fn(parts, config);
  } finally {
    await parts.close();
  }
}

/** Open Ferry for one command and always close it, whatever the command does. */
export function withFerry<T>(ctx: CliContext, fn: (app: Ferry, config: FerryConfig) => Promise<T>): Promise<T> {
  return withOpened(ctx, async (config) => (await import('../main/ferry.js')).openFerry(config), fn);
}

/**
 * Open the registry alone for one command (models, versions, aliases, traffic, archiving) and
 * always close it: the scoring pipeline and the runtimes are not loaded.
 */
export function withRegistry<T>(ctx: CliContext, fn: (root: RegistryRoot, config: FerryConfig) => Promise<T>): Promise<T> {
  return withOpened(ctx, async (config) => (await import('../main/registry-root.js')).openRegistry(config), fn);
}

export function print(ctx: CliContext, text: string): void {
  ctx.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(ctx: CliContext, value: unknown): void {
  print(ctx, JSON.stringify(value, null, 2));
}

function cellText(c: unknown): string {
  if (c === null || c === undefined) return '-';
  return typeof c === 'string' ? c : typeof c === 'number' || typeof c === 'boolean' || typeof c === 'bigint' ? c.toString() : JSON.stringify(c);
}

/** A plain aligned table (no borders), easy to read and to grep. */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const text = rows.map((r) => r.map(cellText));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header.map((h) => h.toUpperCase())), ...text.map(line)].join('\n');
}

/** Collect a repeatable option: `--tag a=1 --tag b=2`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Collect a repeatable option whose values may also be comma-separated: `--key a,b --key c`. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** Parse `k=v` pairs. */
export function parsePairs(pairs: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw ferry('FERRY_E_USAGE', { detail: `${flag} expects key=value, got "${pair}".` });
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Parse `k=<number>` pairs (metrics). */
export function parseNumberPairs(pairs: readonly string[] | undefined, flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsePairs(pairs, flag))) {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw ferry('FERRY_E_USAGE', { detail: `${flag} ${k}=${v}: the value must be a number.` });
    out[k] = n;
  }
  return out;
}

/** Parse `--input-columns input=a,b,c` (once per input). */
export function parseInputColumns(specs: readonly string[] | undefined): Record<string, string[]> | undefined {
  if (!specs || specs.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const [input, cols] of Object.entries(parsePairs(specs, '--input-columns'))) {
    const columns = cols.split(',').map((c) => c.trim()).filter(Boolean);
    if (columns.length === 0) throw ferry('FERRY_E_USAGE', { detail: `--input-columns ${input}= names no columns.` });
    if (out[input]) throw ferry('FERRY_E_USAGE', { detail: `--input-columns names input "${input}" twice.` });
    out[input] = columns;
  }
  return out;
}

/** Every command accepts --json; this is how a command reads it. */
export function wantsJson(cmd: Command): boolean {
  return cmd.optsWithGlobals<{ json?: boolean }>().json === true;
}
