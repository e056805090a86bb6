/**
 * `npm run fuzz`: the model loaders (XGBoost JSON/UBJSON, LightGBM, PMML, ONNX, scikit-learn
 * pickles) and the gRPC service fed random and mutated inputs. A case passes when it is scored or
 * refused with one of Ferry's error codes; the run fails on a crash, a hang (no answer within
 * --hang-ms), an error that is not Ferry's (FERRY_E_INTERNAL or a bare Error), or memory past
 * --max-rss-mb. Cases run in a child process with a capped heap, so an unbounded allocation
 * kills the child, not the fuzzer; a failing case's input is kept under --out.
 *
 *   npm run fuzz -- [--iterations 300] [--seed 1] [--target pmml,grpc] [--out fuzz-failures]
 *
 * Deterministic: case i of a target is the same bytes for the same seed. Loopback only.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { caseRng, grpcTarget, loaderTarget, TARGETS, type CaseResult } from './fuzz/targets.js';

const SELF = fileURLToPath(import.meta.url);

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    target: { type: 'string', default: TARGETS.join(',') },
    out: { type: 'string', default: 'fuzz-failures' },
    'hang-ms': { type: 'string', default: '30000' },
    'max-rss-mb': { type: 'string', default: '1024' },
    'heap-mb': { type: 'string', default: '512' },
    child: { type: 'boolean', default: false },
    from: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});

const seed = Number(values.seed);
const iterations = Number(values.iterations);

/** One line per event from the child. */
type ChildLine = { ready: true } | { start: number } | { done: number; result: CaseResult; rss: number };

if (values.child) await child(values.target, Number(values.from));
else await parent();

/** The child: run cases from..iterations-1 of one target, one JSON line before and after each. */
async function child(target: string, from: number): Promise<void> {
  const say = (line: ChildLine) => process.stdout.write(`${JSON.stringify(line)}\n`);
  const t = target === 'grpc' ? await grpcTarget() : { ...loaderTarget(target), check: () => Promise.resolve(), close: () => Promise.resolve() };
  say({ ready: true });
  for (let i = from; i < iterations; i++) {
    say({ start: i });
    const result = await t.run(t.input(caseRng(seed, target, i)));
    if (i % 50 === 49) await t.check();
    say({ done: i, result, rss: process.memoryUsage().rss });
  }
  await t.check();
  await t.close();
  process.exit(0);
}

interface Finding {
  readonly target: string;
  readonly case: number;
  readonly kind: 'crash' | 'hang' | 'internal' | 'memory';
  readonly detail: string;
}

async function parent(): Promise<void> {
  const targets = values.target.split(',').filter((t) => t !== '');
  for (const t of targets) if (!(TARGETS as readonly string[]).includes(t)) throw new Error(`unknown target "${t}"; targets: ${TARGETS.join(', ')}`);
  const findings: Finding[] = [];
  const rows: string[][] = [];
  const started = performance.now();
  for (const target of targets) {
    const counts = { ok: 0, refused: 0, internal: 0, crash: 0, hang: 0, memory: 0 };
    let maxRss = 0;
    let from = 0;
    while (from < iterations) {
      const run = await runChild(target, from);
      for (const r of run.results) {
        counts[r.result.outcome]++;
        maxRss = Math.max(maxRss, r.rss);
        if (r.result.outcome === 'internal') findings.push({ target, case: r.i, kind: 'internal', detail: r.result.detail ?? '' });
        if (r.rss > Number(values['max-rss-mb']) * 1024 * 1024) {
          counts.memory++;
          findings.push({ target, case: r.i, kind: 'memory', detail: `RSS ${Math.round(r.rss / 1048576)} MB after this case` });
        }
      }
      if (run.failed === undefined) break;
      counts[run.failed.kind]++;
      findings.push({ target, case: run.failed.i, kind: run.failed.kind, detail: run.failed.detail });
      from = run.failed.i + 1;
    }
    rows.push([target, String(iterations), String(counts.ok), String(counts.refused), String(counts.internal), String(counts.crash), String(counts.hang), String(counts.memory), String(Math.round(maxRss / 1048576))]);
  }
  for (const f of findings) keep(f);
  const seconds = (performance.now() - started) / 1000;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ seed, iterations, seconds, findings, rows })}\n`);
  } else {
    const header = ['target', 'cases', 'scored', 'refused', 'internal', 'crash', 'hang', 'memory', 'max RSS MB'];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
    const line = (cells: readonly string[]) => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ');
    console.log(`fuzz: seed ${seed}, ${iterations} cases per target, ${seconds.toFixed(0)} s`);
    console.log(line(header));
    for (const r of rows) console.log(line(r));
    for (const f of findings) console.log(`FINDING ${f.target} case ${f.case} (${f.kind}): ${f.detail}`);
  }
  process.exitCode = findings.length > 0 ? 1 : 0;
}

/** Keep a failing case's input, to reproduce it with --target <t> --seed <s> or to read it. */
function keep(f: Finding): void {
  if (f.target === 'grpc') return;
  const dir = values.out;
  mkdirSync(dir, { recursive: true });
  const bytes = loaderTarget(f.target).input(caseRng(seed, f.target, f.case));
  writeFileSync(join(dir, `${f.target}-seed${seed}-case${f.case}.bin`), bytes);
}

interface ChildRun {
  readonly results: { i: number; result: CaseResult; rss: number }[];
  /** The case the child was on when it died or stopped answering. */
  readonly failed?: { i: number; kind: 'crash' | 'hang'; detail: string };
}

function runChild(target: string, from: number): Promise<ChildRun> {
  const args = [`--max-old-space-size=${values['heap-mb']}`, '--import', 'tsx', SELF, '--child', '--target', target, '--from', String(from), '--iterations', String(iterations), '--seed', String(seed)];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const results: { i: number; result: CaseResult; rss: number }[] = [];
  let current = from;
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (run: ChildRun) => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      resolve(run);
    };
    // Start-up (tsx, imports, a server for gRPC) is not a case: on a loaded machine it can take
    // longer than a case may, so the hang watchdog starts with the child's "ready" line.
    const hangMs = Number(values['hang-ms']);
    const startupMs = 10 * 60_000;
    let ready = false;
    let watchdog = setTimeout(onHang, startupMs);
    function onHang(): void {
      proc.kill('SIGKILL');
      if (!ready) return finish({ results, failed: { i: current, kind: 'crash', detail: `the fuzz child did not start within ${startupMs} ms` } });
      finish({ results, failed: { i: current, kind: 'hang', detail: `no answer within ${hangMs} ms` } });
    }
    createInterface({ input: proc.stdout }).on('line', (text) => {
      let line: ChildLine;
      try {
        line = JSON.parse(text) as ChildLine;
      } catch {
        return;
      }
      clearTimeout(watchdog);
      watchdog = setTimeout(onHang, hangMs);
      if ('ready' in line) ready = true;
      else if ('start' in line) current = line.start;
      else results.push({ i: line.done, result: line.result, rss: line.rss });
    });
    proc.on('exit', (code, signal) => {
      if (code === 0) finish({ results });
      else finish({ results, failed: { i: current, kind: 'crash', detail: `exit ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` } });
    });
  });
}
