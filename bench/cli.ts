/**
 * `npm run bench:cli`: how long `ferry` takes to start, as whole processes, against `node -e 0`
 * (the floor: Node itself) in the same run. Each command runs BENCH_RUNS times (default 7) after
 * one warm-up, in turn with the baseline (A B A B …), so a machine that slows down part-way
 * slows both; the table gives medians and the median of the per-pair ratios. `ferry models`
 * runs against an empty home of its own (SQLite registry created by the warm-up).
 * Prints a Markdown table and writes it to bench/results/cli.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/ferry.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

/** Wall milliseconds of one run; a failing command ends the benchmark. */
function timeOnce(args: readonly string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const home = mkdtempSync(join(tmpdir(), 'ferry-bench-cli-'));
const env = { PATH: process.env.PATH ?? '', FERRY_HOME: home };
const baseline = ['-e', '0'];
const commands: { label: string; args: string[]; target: string }[] = [
  { label: 'ferry --version', args: [BIN, '--version'], target: '≤ 150 ms' },
  { label: 'ferry models', args: [BIN, 'models'], target: '≤ 300 ms' },
  { label: 'ferry predict --help', args: [BIN, 'predict', '--help'], target: '-' },
  { label: 'ferry --help', args: [BIN, '--help'], target: '-' },
];

const rows: string[][] = [];
try {
  const base: number[] = [];
  const results = commands.map((c) => {
    timeOnce(c.args, env);
    timeOnce(baseline, env);
    const times: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const a = timeOnce(c.args, env);
      const b = timeOnce(baseline, env);
      times.push(a);
      base.push(b);
      ratios.push(a / b);
    }
    return { c, times, ratios };
  });
  rows.push(['`node -e 0` (baseline)', median(base).toFixed(0), `${Math.min(...base).toFixed(0)}–${Math.max(...base).toFixed(0)}`, '1.00×', '-']);
  for (const { c, times, ratios } of results) {
    rows.push([`\`${c.label}\``, median(times).toFixed(0), `${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)}`, `${median(ratios).toFixed(2)}×`, c.target]);
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}

const table = [
  `CLI start-up, ${RUNS} runs each after a warm-up, in turn with the baseline; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} at the end.`,
  '',
  '| command | median ms | min–max ms | ÷ `node -e 0` (median of pairs) | target |',
  '|---|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
].join('\n');
process.stdout.write(table);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/cli.md'), table);
