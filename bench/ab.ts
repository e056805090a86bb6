/**
 * A/B of `ferry serve` builds or settings at one concurrency (OIP JSON, batching on, model
 * `bcb`), beside the bare server, in alternated rounds: each target gets its own warm-up right
 * before each measured run, so a shared machine's load falls on all of them alike. With
 * AB_THREADS=1 each run also lists the CPU per request of every busy thread of the server
 * (main threads, V8's helper threads, runtime threads, the primary of `--processes N`).
 *
 *   npm run build && npx tsx bench/ab.ts <rounds> <label>=<bin/ferry.js>[,<item>…] …
 *
 * Items: `ferry serve` flags (`--processes,2`), `node:<option>` (e.g. `node:--single-threaded-gc`),
 * `env:<NAME>:<value>`, `yaml:<key>:<value>` (a top-level ferry.yaml line), `model:<name>` (the
 * model requested, default `bcb`; `bcbl` is the same with every request logged). Knobs:
 * BENCH_SECONDS (4), BENCH_WARMUP_SECONDS (1), BENCH_CONCURRENCY (64), AB_NO_BARE=1, AB_THREADS=1,
 * AB_PROF=<dir> (`--cpu-prof` of each server into <dir>/<label>/), AB_OUTPUT=<dir> (each server's
 * output, e.g. with `node:--trace-gc`, into <dir>/<label>.log).
 *
 * Example, the checkout against a copy of an earlier build, two processes each:
 *   npx tsx bench/ab.ts 4 before=/tmp/ferry-before/bin/ferry.js,--processes,2 after=bin/ferry.js,--processes,2
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stopAll } from './lib/children.js';
import { cpuSnapshot, cpuUsed } from './lib/cpu.js';
import { fixtureRows } from './lib/fixture.js';
import { HttpDriver } from './lib/http-driver.js';
import { bareJson, oipJson } from './lib/payloads.js';
import { MODELS, startBare, startFerry, type ProcessLayout } from './lib/servers.js';
import { loadSettings } from './lib/settings.js';
import { summarize } from './lib/stats.js';

interface Target {
  readonly label: string;
  readonly output?: () => string;
  readonly driver: HttpDriver;
  readonly pid: number | undefined;
}

/** `label=bin,item,…` as a process layout. */
function layoutOf(spec: string): { label: string; layout: ProcessLayout; model: string } {
  const at = spec.indexOf('=');
  if (at <= 0) throw new Error(`expected <label>=<bin/ferry.js>[,items], got "${spec}"`);
  const [bin = '', ...items] = spec.slice(at + 1).split(',');
  const pick = (prefix: string) => items.filter((i) => i.startsWith(prefix)).map((i) => i.slice(prefix.length));
  const args = items.filter((i) => !/^(node|env|yaml|model):/.test(i));
  const p = args.indexOf('--processes');
  return {
    label: spec.slice(0, at),
    model: pick('model:')[0] ?? MODELS.on,
    layout: {
      processes: p >= 0 ? Number(args[p + 1]) : 1,
      args: p >= 0 ? [...args.slice(0, p), ...args.slice(p + 2)] : args,
      bin: resolve(bin),
      nodeArgs: pick('node:'),
      env: Object.fromEntries(pick('env:').map((e) => [e.slice(0, e.indexOf(':')), e.slice(e.indexOf(':') + 1)])),
      yaml: pick('yaml:').map((y) => `${y.slice(0, y.indexOf(':'))}: ${y.slice(y.indexOf(':') + 1)}`),
    },
  };
}

/** CPU time (ns) of every thread of `pid` and of its child processes, by `pid/tid`. */
function threadCpu(pid: number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  const pids = pid === undefined ? [] : [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const tid of readdirSync(`/proc/${pids[i]}/task`)) {
        const dir = `/proc/${pids[i]}/task/${tid}`;
        out.set(`${pids[i]}/${tid}`, Number(readFileSync(`${dir}/schedstat`, 'utf8').split(' ')[0]));
        const children = readFileSync(`${dir}/children`, 'utf8').trim();
        if (children) pids.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // the process or thread ended meanwhile
    }
  }
  return out;
}

const settings = loadSettings();
const concurrency = settings.concurrency.length === 1 ? settings.concurrency[0] ?? 64 : 64;
const rounds = Number(process.argv[2]);
const specs = process.argv.slice(3).map(layoutOf);
if (!Number.isInteger(rounds) || rounds < 1 || specs.length === 0) throw new Error('usage: tsx bench/ab.ts <rounds> <label>=<bin/ferry.js>[,items] …');
const one = [fixtureRows()[0] ?? []];
const bounds = { concurrency, seconds: settings.seconds, maxRequests: settings.maxRequests };
const targets: Target[] = [];
try {
  if (!process.env.AB_NO_BARE) {
    const bare = await startBare();
    targets.push({ label: 'bare', driver: new HttpDriver(bare.url, bareJson(one)), pid: bare.child.proc.pid });
  }
  for (const { label, layout, model } of specs) {
    const server = await startFerry(settings.batching, process.env.AB_PROF ? join(process.env.AB_PROF, label) : undefined, layout);
    targets.push({ label, driver: new HttpDriver(server.url, oipJson(model, one)), pid: server.child.proc.pid, output: () => server.child.output() });
  }
  const rps = new Map<string, number[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const t of targets) {
      if (settings.warmupSeconds > 0) await t.driver.run({ ...bounds, seconds: settings.warmupSeconds * (round === 1 ? 3 : 1) });
      const threads = process.env.AB_THREADS ? threadCpu(t.pid) : undefined;
      const before = cpuSnapshot(t.pid);
      const m = await t.driver.run(bounds);
      const s = summarize({ ...m, ...cpuUsed(before, cpuSnapshot(t.pid), m.seconds) });
      rps.set(t.label, [...(rps.get(t.label) ?? []), s.rps]);
      process.stdout.write(`round ${round} ${t.label.padEnd(12)} ${s.rps.toFixed(0).padStart(6)} req/s  p99 ${s.p99.toFixed(2)} ms  errors ${s.errors}  CPU µs/req server ${s.serverCpuUs.toFixed(0)} client ${s.clientCpuUs.toFixed(0)}  other load ${s.otherCores.toFixed(2)} cores\n`);
      if (threads) {
        const after = threadCpu(t.pid);
        const busy = [...after].map(([k, ns]) => [k, (ns - (threads.get(k) ?? 0)) / 1000 / Math.max(1, m.ok)] as const).filter(([, us]) => us >= 0.5).sort((a, b) => b[1] - a[1]);
        for (const [k, us] of busy) process.stdout.write(`    ${us.toFixed(1).padStart(6)} µs/req  thread ${k}\n`);
      }
    }
  }
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const bare = rps.get('bare');
  for (const [label, v] of rps) process.stdout.write(`mean ${label.padEnd(12)} ${mean(v).toFixed(0).padStart(6)} req/s${bare ? `  ${(mean(v) / mean(bare)).toFixed(2)}× bare` : ''}\n`);
  if (process.env.AB_OUTPUT) {
    mkdirSync(process.env.AB_OUTPUT, { recursive: true });
    for (const t of targets) if (t.output) writeFileSync(join(process.env.AB_OUTPUT, `${t.label}.log`), t.output());
  }
} finally {
  await stopAll();
}
