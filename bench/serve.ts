/**
 * `npm run bench:serve`: bounded closed-loop load on 127.0.0.1 against `ferry serve` (OIP REST
 * JSON and binary, gRPC, MLflow; dynamic batching off and on), beside two floors measured in the
 * same run — onnxruntime-node's `run` in process and a bare node:http + ORT server — plus a
 * 100 020-element tensor section. Prints Markdown and writes it to bench/results/serve.md.
 * Knobs (BENCH_SECONDS, BENCH_FILTER, BENCH_CPU_PROF, …): see bench/README.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { stopAll } from './lib/children.js';
import { cpuSnapshot, cpuUsed } from './lib/cpu.js';
import type { Driver } from './lib/driver.js';
import { cycleRows, FEATURES, fixtureRows, ROOT } from './lib/fixture.js';
import { GrpcDriver } from './lib/grpc-driver.js';
import { HttpDriver } from './lib/http-driver.js';
import { bareJson, grpcInferRequest, mlflow, oipBinary, oipJson } from './lib/payloads.js';
import { rawRun } from './lib/raw-run.js';
import { LOG_CONCURRENCY, logCells, logTable, logTarget, type LogRow } from './lib/log-cost.js';
import { largeTable, mainTable, ms, rate, targetsList, type LargeRow, type ResultRow } from './lib/report.js';
import { PEER_CONCURRENCY, peerCells, peerTable, peerTarget, type PeerRow } from './lib/peer.js';
import { layouts, PROCESS_CONCURRENCY, processCells, processTable, type ProcessRow } from './lib/processes.js';
import { MODELS, startBare, startDefaultFerry, startFastApi, startFerry, type FerryServer } from './lib/servers.js';
import { loadSettings, type Settings } from './lib/settings.js';
import { summarize, type Summary } from './lib/stats.js';
import { judgeTargets, LABELS } from './lib/targets.js';

const OUTPUTS = ['label', 'probabilities'];

/** A response check: HTTP 200 and a body mentioning `text`. */
function expect(text: string) {
  return (status: number, body: Buffer): string | undefined =>
    status !== 200 ? 'expected HTTP 200' : body.includes(text) ? undefined : `expected "${text}" in the answer`;
}

interface ProtocolSpec {
  readonly id: string;
  readonly label: string;
  driver(server: FerryServer, model: string, rows: readonly number[][]): Driver;
}

const PROTOCOLS: readonly ProtocolSpec[] = [
  { id: 'oip-json', label: LABELS.oipJson, driver: (s, m, r) => new HttpDriver(s.url, oipJson(m, r), expect('"probabilities"')) },
  { id: 'oip-binary', label: LABELS.oipBinary, driver: (s, m, r) => new HttpDriver(s.url, oipBinary(m, r), expect('"binary_data_size"')) },
  { id: 'grpc', label: LABELS.grpc, driver: (s, m, r) => new GrpcDriver(s.grpcAddress, grpcInferRequest(m, r), OUTPUTS) },
  { id: 'mlflow', label: LABELS.mlflow, driver: (s, m, r) => new HttpDriver(s.url, mlflow(m, r), expect('"predictions"')) },
];

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Check the endpoint, warm up, then measure one cell (and the CPU the server and this process spent on it). */
async function measure(id: string, driver: Driver, concurrency: number, s: Settings, serverPid: number | undefined): Promise<Summary> {
  await driver.preflight();
  if (s.warmupSeconds > 0) await driver.run({ concurrency, seconds: s.warmupSeconds, maxRequests: s.maxRequests });
  const before = cpuSnapshot(serverPid);
  const m = await driver.run({ concurrency, seconds: s.seconds, maxRequests: s.maxRequests });
  const summary = summarize({ ...m, ...cpuUsed(before, cpuSnapshot(serverPid), m.seconds) });
  log(`${id.padEnd(22)} ${rate(summary.rps).padStart(7)} req/s  p50 ${ms(summary.p50)} ms  p99 ${ms(summary.p99)} ms  errors ${summary.errors}  CPU µs/req server ${summary.serverCpuUs.toFixed(0)} client ${summary.clientCpuUs.toFixed(0)}  other load ${summary.otherCores.toFixed(2)} cores`);
  return summary;
}

interface Results {
  raw: Summary | undefined;
  readonly bare: Map<number, Summary>;
  readonly rows: ResultRow[];
  readonly large: LargeRow[];
  log: LogRow[];
  peer: PeerRow[];
  /** Why the FastAPI row was not measured. */
  peerSkipped: string | undefined;
  processes: ProcessRow[];
}

async function rawCell(s: Settings, row: readonly number[], out: Results): Promise<void> {
  const summary = summarize(await rawRun(row, s.seconds, s.warmupSeconds, s.maxRequests));
  log(`raw                    ${rate(summary.rps).padStart(7)} run/s  p50 ${ms(summary.p50)} ms  p99 ${ms(summary.p99)} ms`);
  out.raw = summary;
  out.rows.push({ target: LABELS.raw, batching: '—', concurrency: 1, summary });
}

/** The bare node:http + ORT server (the floor), or its canned-reply variant (the load generator's ceiling). */
async function bareCells(kind: 'bare' | 'ceiling', s: Settings, one: readonly number[][], wanted: (id: string) => boolean, out: Results): Promise<void> {
  const levels = s.concurrency.filter((c) => wanted(`${kind}/c${c}`));
  if (levels.length === 0) return;
  const server = await startBare(s.profileDir, kind === 'ceiling');
  try {
    const driver = new HttpDriver(server.url, bareJson(one), expect('"probabilities"'));
    for (const c of levels) {
      const summary = await measure(`${kind}/c${c}`, driver, c, s, server.child.proc.pid);
      if (kind === 'bare') out.bare.set(c, summary);
      out.rows.push({ target: LABELS[kind], batching: '—', concurrency: c, summary });
    }
  } finally {
    await server.stop();
  }
}

async function ferryCells(server: FerryServer, s: Settings, one: readonly number[][], wanted: (id: string) => boolean, out: Results): Promise<void> {
  for (const p of PROTOCOLS) {
    for (const batching of ['off', 'on'] as const) {
      const levels = s.concurrency.filter((c) => wanted(`${p.id}/${batching}/c${c}`));
      if (levels.length === 0) continue;
      const driver = p.driver(server, MODELS[batching], one);
      try {
        for (const c of levels) out.rows.push({ target: p.label, batching, concurrency: c, summary: await measure(`${p.id}/${batching}/c${c}`, driver, c, s, server.child.proc.pid) });
      } finally {
        driver.close();
      }
    }
  }
}

async function largeCells(server: FerryServer, s: Settings, wanted: (id: string) => boolean, out: Results): Promise<void> {
  const rows = cycleRows(fixtureRows(), s.largeRows);
  for (const p of PROTOCOLS.filter((x) => x.id !== 'mlflow' && wanted(`large/${x.id}`))) {
    const driver = p.driver(server, MODELS.off, rows);
    try {
      const summary = await measure(`large/${p.id}`, driver, s.largeConcurrency, s, server.child.proc.pid);
      out.large.push({ protocol: p.label, requestBytes: driver.requestBytes, tensorBytes: rows.length * FEATURES * 4, summary });
    } finally {
      driver.close();
    }
  }
}

/** Prediction log off vs on (bench/lib/log-cost.ts). */
async function logCostCells(server: FerryServer, s: Settings, one: readonly number[][], wanted: (id: string) => boolean, out: Results): Promise<void> {
  if (!wanted(`log/c${LOG_CONCURRENCY}`)) return;
  const off = PROTOCOLS[0]!.driver(server, MODELS.on, one);
  const on = PROTOCOLS[0]!.driver(server, MODELS.onLogged, one);
  try {
    const warm = async (d: Driver) => { await d.run({ concurrency: LOG_CONCURRENCY, seconds: s.seconds + s.warmupSeconds, maxRequests: s.maxRequests }); };
    out.log = await logCells(server.url, { off, on }, (id, d) => measure(id, d, LOG_CONCURRENCY, s, server.child.proc.pid), s.logRounds, warm);
  } finally {
    off.close();
    on.close();
  }
}

/** The default `ferry serve` against FastAPI + uvicorn (bench/lib/peer.ts). */
async function peerSection(s: Settings, one: readonly number[][], wanted: (id: string) => boolean, out: Results): Promise<void> {
  if (!wanted(`peer/c${PEER_CONCURRENCY}`)) return;
  const fastapi = await startFastApi();
  if ('skipped' in fastapi) {
    out.peerSkipped = fastapi.skipped;
    log(`FastAPI row skipped: ${fastapi.skipped}`);
  }
  const ferry = await startDefaultFerry(s.profileDir);
  const pids = { fastapi: 'skipped' in fastapi ? undefined : fastapi.child.proc.pid, ferry: ferry.child.proc.pid };
  const drivers = {
    fastapi: 'skipped' in fastapi ? undefined : new HttpDriver(fastapi.url, oipJson('bc', one), expect('"probabilities"')),
    ferry: new HttpDriver(ferry.url, oipJson(MODELS.defaults, one), expect('"probabilities"')),
  };
  try {
    out.peer = await peerCells(drivers, (id, d) => measure(id, d, PEER_CONCURRENCY, s, d === drivers.ferry ? pids.ferry : pids.fastapi));
  } finally {
    drivers.fastapi?.close();
    drivers.ferry.close();
    await ferry.stop();
    if (!('skipped' in fastapi)) await fastapi.stop();
  }
}

/** OIP JSON, batching on, against `ferry serve --processes N`: rows of the main table beside the one-process rows. */
async function multiProcessCells(s: Settings, one: readonly number[][], wanted: (id: string) => boolean, out: Results): Promise<void> {
  const levels = s.concurrency.filter((c) => wanted(`oip-json/on/p${s.processes}/c${c}`));
  if (levels.length === 0) return;
  const server = await startFerry(s.batching, s.profileDir, { processes: s.processes });
  const driver = PROTOCOLS[0]!.driver(server, MODELS.on, one);
  try {
    // Each process warms its own JIT on a share of the requests: N times the warm-up in all.
    if (s.warmupSeconds > 0) await driver.run({ concurrency: Math.max(...levels), seconds: s.warmupSeconds * (s.processes - 1), maxRequests: s.maxRequests });
    for (const c of levels) out.rows.push({ target: LABELS.oipJsonProcesses(s.processes), batching: 'on', concurrency: c, summary: await measure(`oip-json/on/p${s.processes}/c${c}`, driver, c, s, server.child.proc.pid) });
  } finally {
    driver.close();
    await server.stop();
  }
}

/** Processes × cores (bench/lib/processes.ts): every layout's server started first, then alternated rounds. */
async function processSection(s: Settings, one: readonly number[][], wanted: (id: string) => boolean, out: Results): Promise<void> {
  const picked = layouts(s.processes).filter((l) => wanted(`procs/${l.id}/c${PROCESS_CONCURRENCY}`));
  if (picked.length === 0) return;
  const cells: { layout: (typeof picked)[number]; driver: Driver; url: string; pid: number | undefined }[] = [];
  const servers: FerryServer[] = [];
  try {
    for (const layout of picked) {
      const server = await startFerry(s.batching, undefined, layout);
      servers.push(server);
      cells.push({ layout, driver: PROTOCOLS[0]!.driver(server, MODELS.on, one), url: server.url, pid: server.child.proc.pid });
    }
    out.processes = await processCells(cells, s.processRounds, s.warmupSeconds, (id, d, pid) => measure(id, d, PROCESS_CONCURRENCY, s, pid));
  } finally {
    for (const c of cells) c.driver.close();
    for (const server of servers) await server.stop();
  }
}

function ortVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function markdown(s: Settings, r: Results): string {
  const cpu = cpus();
  const targets = judgeTargets(r.rows, r.bare, r.raw, r.large);
  return [
    '## Serving benchmark (`npm run bench:serve`)',
    '',
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB · Node ${process.versions.node} · onnxruntime-node ${ortVersion()} · model breast_mlp (30 FP32 inputs, 1 row per request)`,
    `${s.seconds} s measured after ${s.warmupSeconds} s warm-up per cell, closed loop (each of N clients sends its next request when the last one is answered) · batching on: max_batch_size ${s.batching.maxBatchSize}, max_queue_delay_us ${s.batching.maxQueueDelayUs}.`,
    '**The load generator and the server share these cores**, so absolute numbers are low and compare only within one run.',
    'CPU µs/req: CPU time (all threads) of the server process and of the load generator per answered request. Other load: cores kept busy by other processes during the measured run; above ~0.1 that row is disturbed.',
    '',
    mainTable(r.rows, r.bare),
    '',
    `### Large tensor: ${s.largeRows.toLocaleString('en-US')} rows × ${FEATURES} = ${(s.largeRows * FEATURES).toLocaleString('en-US')} FP32 elements per request (batching off)`,
    '',
    r.large.length > 0 ? largeTable(r.large, s.largeConcurrency) : '_not run_',
    '',
    'Tensor MB/s counts the 4-byte FP32 payload delivered; wire MB/s the request bodies (JSON text, header + raw bytes, protobuf).',
    '',
    `### Prediction log cost: OIP REST JSON, batching on, concurrency ${LOG_CONCURRENCY}, logging off vs on (100 % sampling), alternated`,
    '',
    r.log.length > 0 ? logTable(r.log) : '_not run_',
    '',
    `### Default \`ferry serve\` (no config file, no flags but the ports) vs FastAPI + uvicorn: OIP JSON, concurrency ${PEER_CONCURRENCY}, alternated`,
    '',
    r.peerSkipped ? `FastAPI row skipped: ${r.peerSkipped}.` : '',
    r.peer.length > 0 ? peerTable(r.peer) : '_not run_',
    '',
    `### Server processes and cores: OIP REST JSON, batching on, concurrency ${PROCESS_CONCURRENCY}, alternated rounds`,
    '',
    'The server pinned with `taskset -c 0` (its processes inherit the mask); the load generator is not pinned. This machine has 2 cores: what 8 cores would do is not measured here.',
    '',
    r.processes.length > 0 ? processTable(r.processes) : '_not run_',
    '',
    '### Targets',
    '',
    targetsList([peerTarget(r.peer, r.peerSkipped), ...targets, logTarget(r.log)]),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const s = loadSettings();
  const wanted = (id: string) => !s.filter || s.filter.test(id);
  const one = [fixtureRows()[0] ?? []];
  const out: Results = { raw: undefined, bare: new Map(), rows: [], large: [], log: [], peer: [], peerSkipped: undefined, processes: [] };
  if (s.profileDir) mkdirSync(s.profileDir, { recursive: true });

  if (wanted('raw')) await rawCell(s, one[0]!, out);
  await peerSection(s, one, wanted, out);
  await bareCells('ceiling', s, one, wanted, out);
  await bareCells('bare', s, one, wanted, out);
  // Right after the bare server: the --processes rows are compared with it.
  await multiProcessCells(s, one, wanted, out);
  const ferryIds = [...PROTOCOLS.flatMap((p) => ['off', 'on'].flatMap((b) => s.concurrency.map((c) => `${p.id}/${b}/c${c}`))), ...PROTOCOLS.map((p) => `large/${p.id}`), `log/c${LOG_CONCURRENCY}`];
  if (ferryIds.some(wanted)) {
    const server = await startFerry(s.batching, s.profileDir);
    try {
      await ferryCells(server, s, one, wanted, out);
      await largeCells(server, s, wanted, out);
      await logCostCells(server, s, one, wanted, out);
    } finally {
      await server.stop();
    }
  }
  await processSection(s, one, wanted, out);

  const text = markdown(s, out);
  process.stdout.write(`${text}\n`);
  mkdirSync(dirname(s.output), { recursive: true });
  writeFileSync(s.output, text);
  log(`written to ${s.output}${s.profileDir ? `; CPU profiles in ${s.profileDir}` : ''}`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
