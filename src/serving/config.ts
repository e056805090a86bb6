import { availableParallelism } from 'node:os';
import { readConfigFile, type ConfigFile } from '../core/config-file.js';
import { ferry } from '../core/errors.js';
import { DEFAULT_DEPLOYMENT, type CanaryRoute, type DeploymentsConfig, type ModelDeployment } from '../scoring/deployment-config.js';
import type { ConfidenceSpec } from '../scoring/confidence.js';
import { DEFAULT_WRITER_NICE } from '../monitoring/log-writer-protocol.js';
import { DEFAULT_BATCH_POLICY, type BatchPolicy } from '../scoring/batcher.js';

/** How one model is served (ferry.yaml `models:` entry): the scoring layer's deployment settings. */
export type ModelServeConfig = ModelDeployment;
export type { CanaryRoute };

/** The prediction log's buffer and retention (ferry.yaml `prediction_log:`). */
export interface PredictionLogSettings {
  readonly bufferRows: number;
  readonly flushRows: number;
  readonly flushIntervalMs: number;
  /** Delete logged predictions older than this; undefined = keep them. */
  readonly retentionDays: number | undefined;
  /** Share of the buffer past which requests are sampled down (evenly) instead of dropped when full; 1 = never. */
  readonly shedFrom: number;
  /** Steps (0–19) by which the SQLite writer thread lowers its scheduling priority below the server's. */
  readonly writerNice: number;
}

/** Everything `ferry serve` runs with, validated once. */
export interface ServeConfig extends DeploymentsConfig {
  readonly host: string;
  readonly port: number;
  /** gRPC port; null disables gRPC. */
  readonly grpcPort: number | null;
  readonly bodyLimit: number;
  readonly requestTimeoutMs: number;
  /** Open HTTP connections at most; more are closed on accept. */
  readonly maxConnections: number;
  readonly grpcMaxMessageBytes: number;
  readonly auth: boolean;
  /** A file of API keys (one `<key> [scope,scope]` a line, e.g. a mounted Secret), accepted beside the registry's keys. */
  readonly apiKeysFile: string | undefined;
  /** Listening on a non-loopback address without auth was asked for explicitly (`--insecure-no-auth`). */
  readonly insecureNoAuth: boolean;
  /** HTTP/gRPC front-end processes sharing the ports (`serve --processes`), each with its own models; 1 = this process serves alone. */
  readonly processes: number;
  /** Worker threads per loaded model version (inference off the event loop); 0 = on the main thread. */
  readonly runtimeWorkers: number;
  /** Batches expected to compute faster than this (ms) run on the main thread; 0 = always the workers. */
  readonly inlineBelowMs: number;
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
  readonly predictionLog: PredictionLogSettings;
  /** How often alert rules are evaluated inside the server (ms); 0 = not at all. */
  readonly alertsIntervalMs: number;
  /** Logged predictions one drift, live-metric or alert evaluation reads at most (the newest of its window). */
  readonly monitoringMaxRows: number;
  /**
   * V8's memory reducer (shrink the heap when the process looks idle). Off by default in a server:
   * after an idle spell it left the heap's limits so tight that a burst of large requests ran
   * back-to-back full GCs (docs/serving.md, "Memory and GC").
   */
  readonly memoryReducer: boolean;
  /**
   * How far V8 lets the old generation grow past what the last full GC kept, in percent (V8's
   * `--heap-growing-percent`); 0 = V8's own choice. Default 300 (4×, V8's largest own factor): V8
   * counts memory outside the JS heap allocated since that GC (request bodies, HTTP/2 frames)
   * against the limit, and its own factor (1.3×) ran full GCs back to back under large requests
   * (docs/serving.md, "Memory and GC").
   */
  readonly heapGrowingPercent: number;
}

/** Command-line flags of `ferry serve` (they win over the file). */
export interface ServeFlags {
  port?: string | undefined;
  grpcPort?: string | undefined;
  host?: string | undefined;
  config?: string | undefined;
  bodyLimit?: string | undefined;
  auth?: boolean | undefined;
  apiKeysFile?: string | undefined;
  insecureNoAuth?: boolean | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  lazy?: boolean | undefined;
  batching?: boolean | undefined;
  pollInterval?: string | undefined;
  runtimeWorkers?: string | undefined;
  /** `--processes <n|auto>`: server processes sharing the ports. */
  processes?: string | undefined;
  /** `--log-predictions [share]`: log every model's predictions (true = all of them). */
  logPredictions?: string | boolean | undefined;
  /** `--alerts-interval <ms>`: evaluate alert rules this often (0 = off). */
  alertsInterval?: string | undefined;
}

type Raw = Record<string, unknown>;

const MiB = 1024 * 1024;

/** Apply flags and defaults to the config file (read once by the caller, or here from `--config`), validate, freeze. */
export function loadServeConfig(flags: ServeFlags, file: ConfigFile | undefined = flags.config ? readConfigFile(flags.config) : undefined): ServeConfig {
  return parseServeConfig(file?.root ?? {}, flags, file?.path ?? 'serve config');
}

/** Validate a parsed config object (exported for tests). */
export function parseServeConfig(file: Readonly<Raw>, flags: ServeFlags = {}, where = 'serve config'): ServeConfig {
  known(file, ['host', 'port', 'grpc_port', 'body_limit', 'request_timeout_ms', 'max_connections', 'grpc_max_message_bytes', 'poll_interval_ms', 'max_on_demand_versions', 'cold_start_wait_ms', 'processes', 'runtime_workers', 'inline_below_ms', 'auth', 'insecure_no_auth', 'tls', 'models', 'defaults', 'prediction_log', 'alerts_interval_ms', 'monitoring_max_rows', 'memory_reducer', 'heap_growing_percent', 'batch'], where); // batch: jobs, read by src/batch/config.ts
  // A copy: the flags below change it, and the file is shared (and frozen).
  const rawDefaults: Raw = file.defaults === undefined ? {} : { ...asObject(file.defaults, `${where}: defaults`) };
  if (flags.lazy) rawDefaults.load = 'lazy';
  // Batching is on by default (`--batching` keeps the file's policy); `--no-batching` turns the default off, a model's own `batching:` still wins.
  if (flags.batching === false) rawDefaults.batching = false;
  if (flags.logPredictions !== undefined && flags.logPredictions !== false) rawDefaults.log = flags.logPredictions === true ? true : { sample: flags.logPredictions };
  const defaults = modelFields(rawDefaults, `${where}: defaults`, BASE_MODEL);
  const tlsRaw = file.tls === undefined ? undefined : asObject(file.tls, `${where}: tls`);
  const cert = flags.tlsCert ?? str(tlsRaw?.cert, `${where}: tls.cert`);
  const key = flags.tlsKey ?? str(tlsRaw?.key, `${where}: tls.key`);
  if ((cert === undefined) !== (key === undefined)) throw invalid(`${where}: TLS needs both a certificate and a key`);
  const grpcPortFlag = flags.grpcPort === undefined ? undefined : flags.grpcPort === 'off' ? null : int(flags.grpcPort, '--grpc-port', 0, 65535);
  const models = file.models === undefined ? undefined : asArray(file.models, `${where}: models`).map((m, i) => {
    const raw = asObject(m, `${where}: models[${i}]`);
    const name = str(raw.name, `${where}: models[${i}].name`);
    if (!name) throw invalid(`${where}: models[${i}] needs a name`);
    return { name, ...modelFields(raw, `${where}: models[${i}] (${name})`, defaults, ['name']) };
  });
  const authRaw = file.auth === undefined ? {} : asObject(file.auth, `${where}: auth`);
  known(authRaw, ['enabled', 'keys_file'], `${where}: auth`);
  const auth = flags.auth ?? bool(authRaw.enabled, `${where}: auth.enabled`) ?? false;
  const host = flags.host ?? str(file.host, `${where}: host`) ?? '127.0.0.1';
  const insecureNoAuth = flags.insecureNoAuth ?? bool(file.insecure_no_auth, `${where}: insecure_no_auth`) ?? false;
  if (!auth && !insecureNoAuth && !isLoopback(host)) {
    throw invalid(`listening on ${host} without auth would let anyone on the network predict, move aliases and unload models; turn auth on (serve --auth, keys from \`ferry apikey create\` or --api-keys-file) or, on a network you trust, pass --insecure-no-auth`);
  }
  const bodyLimit = flags.bodyLimit !== undefined ? int(flags.bodyLimit, '--body-limit', 1024) ?? 0 : int(file.body_limit, `${where}: body_limit`, 1024) ?? 64 * MiB;
  return Object.freeze({
    host,
    port: (flags.port !== undefined ? int(flags.port, '--port', 0, 65535) : int(file.port, `${where}: port`, 0, 65535)) ?? 8080,
    grpcPort: grpcPortFlag !== undefined ? grpcPortFlag : file.grpc_port === null || file.grpc_port === 'off' ? null : int(file.grpc_port, `${where}: grpc_port`, 0, 65535) ?? 8081,
    bodyLimit,
    requestTimeoutMs: int(file.request_timeout_ms, `${where}: request_timeout_ms`, 1) ?? 60_000,
    maxConnections: int(file.max_connections, `${where}: max_connections`, 1) ?? 1024,
    // gRPC messages are held whole before decoding: by default no larger than a REST body.
    grpcMaxMessageBytes: int(file.grpc_max_message_bytes, `${where}: grpc_max_message_bytes`, 1024) ?? bodyLimit,
    pollIntervalMs: flags.pollInterval !== undefined ? int(flags.pollInterval, '--poll-interval', 50) ?? 2000 : int(file.poll_interval_ms, `${where}: poll_interval_ms`, 50) ?? 2000,
    registryTraffic: true,
    maxOnDemandVersions: int(file.max_on_demand_versions, `${where}: max_on_demand_versions`, 1, 1000) ?? 4,
    coldStartWaitMs: int(file.cold_start_wait_ms, `${where}: cold_start_wait_ms`, 0) ?? 10_000,
    processes: processCount(flags.processes !== undefined ? { value: flags.processes, where: '--processes' } : { value: file.processes, where: `${where}: processes` }),
    runtimeWorkers: (flags.runtimeWorkers !== undefined ? int(flags.runtimeWorkers, '--runtime-workers', 0, 64) : int(file.runtime_workers, `${where}: runtime_workers`, 0, 64)) ?? 1,
    inlineBelowMs: num(file.inline_below_ms, `${where}: inline_below_ms`) ?? 0.5,
    auth,
    apiKeysFile: flags.apiKeysFile ?? str(authRaw.keys_file, `${where}: auth.keys_file`),
    insecureNoAuth,
    tls: cert && key ? { cert, key } : undefined,
    models,
    defaults,
    predictionLog: predictionLogSettings(file.prediction_log === undefined ? {} : asObject(file.prediction_log, `${where}: prediction_log`), `${where}: prediction_log`),
    alertsIntervalMs: (flags.alertsInterval !== undefined ? int(flags.alertsInterval, '--alerts-interval', 0) : int(file.alerts_interval_ms, `${where}: alerts_interval_ms`, 0)) ?? 60_000,
    monitoringMaxRows: int(file.monitoring_max_rows, `${where}: monitoring_max_rows`, 1) ?? 100_000,
    memoryReducer: bool(file.memory_reducer, `${where}: memory_reducer`) ?? false,
    heapGrowingPercent: int(file.heap_growing_percent, `${where}: heap_growing_percent`, 0, 1000) ?? DEFAULT_HEAP_GROWING_PERCENT,
  });
}

/** `heap_growing_percent` unless set: the old generation may reach 4× what the last full GC kept. */
export const DEFAULT_HEAP_GROWING_PERCENT = 300;

/** Most server processes accepted: beyond the cores they only add memory (every process loads every model). */
const MAX_PROCESSES = 256;

/** `processes: 4` or `auto` (the CPUs this process may run on: its affinity mask, so `taskset -c 0` gives 1). */
function processCount({ value, where }: { value: unknown; where: string }): number {
  if (value === 'auto') return availableParallelism();
  return int(value, `${where} (a number or "auto")`, 1, MAX_PROCESSES) ?? 1;
}

function predictionLogSettings(raw: Raw, where: string): PredictionLogSettings {
  known(raw, ['buffer_rows', 'flush_rows', 'flush_interval_ms', 'retention_days', 'shed_from', 'writer_nice'], where);
  const bufferRows = int(raw.buffer_rows, `${where}.buffer_rows`, 1) ?? 10_000;
  const retentionDays = num(raw.retention_days, `${where}.retention_days`);
  if (retentionDays !== undefined && retentionDays <= 0) throw invalid(`${where}.retention_days must be a number of days > 0`);
  const shedFrom = num(raw.shed_from, `${where}.shed_from`) ?? 0.5;
  if (shedFrom <= 0 || shedFrom > 1) throw invalid(`${where}.shed_from must be a share of the buffer in (0, 1] (1: never sample down)`);
  return Object.freeze({
    bufferRows,
    flushRows: int(raw.flush_rows, `${where}.flush_rows`, 1, bufferRows) ?? Math.min(1000, bufferRows),
    flushIntervalMs: int(raw.flush_interval_ms, `${where}.flush_interval_ms`, 1) ?? 250,
    retentionDays,
    shedFrom,
    writerNice: int(raw.writer_nice, `${where}.writer_nice`, 0, 19) ?? DEFAULT_WRITER_NICE,
  });
}

function logSettings(raw: unknown, where: string): { sample: number; explain?: number } | undefined {
  if (raw === false) return undefined;
  if (raw === true) return { sample: 1 };
  const r = asObject(raw, where);
  known(r, ['sample', 'explain'], where);
  const sample = num(r.sample, `${where}.sample`) ?? 1;
  if (sample < 0 || sample > 1) throw invalid(`${where}.sample must be between 0 and 1 (the share of requests logged)`);
  const explain = r.explain === true ? 1 : r.explain === false ? 0 : num(r.explain, `${where}.explain`) ?? 0;
  if (explain < 0 || explain > 1) throw invalid(`${where}.explain must be between 0 and 1 (the share of requests explained for the log)`);
  return sample === 0 ? undefined : { sample, ...(explain > 0 ? { explain } : {}) };
}

function confidenceSettings(raw: unknown, where: string): ConfidenceSpec | undefined {
  if (raw === false) return undefined;
  if (raw === true) return { respond: true };
  const r = asObject(raw, where);
  known(r, ['output', 'min', 'respond'], where);
  const min = num(r.min, `${where}.min`);
  if (min !== undefined && (min < 0 || min > 1)) throw invalid(`${where}.min must be a probability between 0 and 1`);
  return { output: str(r.output, `${where}.output`), min, respond: bool(r.respond, `${where}.respond`) ?? false };
}

/**
 * What a served model gets when nothing is configured: adaptive dynamic batching on (an idle
 * runtime still takes a lone request at once, so it costs nothing at low load), the rest off.
 */
const BASE_MODEL: Omit<ModelServeConfig, 'name'> = Object.freeze({ ...DEFAULT_DEPLOYMENT, batching: DEFAULT_BATCH_POLICY });

function modelFields(raw: Raw, where: string, base: Omit<ModelServeConfig, 'name'>, extra: string[] = []): Omit<ModelServeConfig, 'name'> {
  known(raw, [...extra, 'load', 'versions', 'route', 'warmup', 'batching', 'cache', 'canary', 'shadow', 'log', 'confidence'], where);
  const load = raw.load ?? base.load;
  if (load !== 'eager' && load !== 'lazy') throw invalid(`${where}: load must be "eager" or "lazy"`);
  const versions = raw.versions === undefined ? base.versions : asArray(raw.versions, `${where}: versions`).map((v, i) => pointer(v, `${where}: versions[${i}]`));
  const canary = raw.canary === undefined ? base.canary : asArray(raw.canary, `${where}: canary`).map((c, i) => {
    const r = asObject(c, `${where}: canary[${i}]`);
    const target = r.target === undefined ? undefined : pointer(r.target, `${where}: canary[${i}].target`);
    const weight = num(r.weight, `${where}: canary[${i}].weight`);
    if (!target || weight === undefined || weight < 0) throw invalid(`${where}: canary[${i}] needs a target and a weight ≥ 0`);
    return { target, weight };
  });
  if (canary && canary.reduce((s, c) => s + c.weight, 0) <= 0) throw invalid(`${where}: canary weights must add up to more than 0`);
  let shadow = base.shadow;
  if (raw.shadow !== undefined) {
    const s = asObject(raw.shadow, `${where}: shadow`);
    const share = num(s.share, `${where}: shadow.share`) ?? 1;
    if (s.target === undefined || share < 0 || share > 1) throw invalid(`${where}: shadow needs a target and a share between 0 and 1`);
    shadow = { target: pointer(s.target, `${where}: shadow.target`), share };
  }
  return {
    load,
    versions,
    route: raw.route === undefined ? base.route : pointer(raw.route, `${where}: route`),
    warmup: bool(raw.warmup, `${where}: warmup`) ?? base.warmup,
    batching: raw.batching === undefined ? base.batching : raw.batching === false ? undefined : batchPolicy(raw.batching === true ? {} : asObject(raw.batching, `${where}: batching`), `${where}: batching`),
    cacheBytes: raw.cache === undefined ? base.cacheBytes : raw.cache === false ? undefined : int(asObject(raw.cache === true ? {} : raw.cache, `${where}: cache`).max_bytes, `${where}: cache.max_bytes`, 1024) ?? 64 * MiB,
    canary,
    shadow,
    log: raw.log === undefined ? base.log : logSettings(raw.log, `${where}: log`),
    confidence: raw.confidence === undefined ? base.confidence : confidenceSettings(raw.confidence, `${where}: confidence`),
  };
}

function batchPolicy(raw: Raw, where: string): BatchPolicy {
  known(raw, ['max_batch_size', 'max_queue_delay_us', 'preferred_batch_sizes', 'max_queue_size', 'timeout_ms', 'max_inflight'], where);
  const d = DEFAULT_BATCH_POLICY;
  const preferred = raw.preferred_batch_sizes === undefined ? d.preferredBatchSizes
    : asArray(raw.preferred_batch_sizes, `${where}.preferred_batch_sizes`).map((v, i) => int(v, `${where}.preferred_batch_sizes[${i}]`, 1) ?? 1);
  return Object.freeze({
    maxBatchSize: int(raw.max_batch_size, `${where}.max_batch_size`, 1) ?? d.maxBatchSize,
    maxQueueDelayUs: int(raw.max_queue_delay_us, `${where}.max_queue_delay_us`, 0) ?? d.maxQueueDelayUs,
    preferredBatchSizes: preferred,
    maxQueueSize: int(raw.max_queue_size, `${where}.max_queue_size`, 1) ?? d.maxQueueSize,
    timeoutMs: int(raw.timeout_ms, `${where}.timeout_ms`, 0) ?? d.timeoutMs,
    maxInflight: int(raw.max_inflight, `${where}.max_inflight`, 1) ?? d.maxInflight,
  });
}

/** A version pointer: `latest`, an alias, or a version number (YAML may give it as a number). */
function pointer(v: unknown, where: string): string {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return String(v);
  if (typeof v === 'string' && v !== '') return v;
  throw invalid(`${where} must be latest, an alias or a version number`);
}

/** Whether an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

function invalid(detail: string) {
  return ferry('FERRY_E_CONFIG_INVALID', { detail });
}

function known(raw: Raw, keys: readonly string[], where: string): void {
  const unknown = Object.keys(raw).filter((k) => !keys.includes(k));
  if (unknown.length > 0) throw invalid(`${where}: unknown key(s) ${unknown.join(', ')} (known: ${keys.join(', ')})`);
}

function asObject(v: unknown, where: string): Raw {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${where} must be a mapping`);
  return { ...(v as Raw) };
}

function asArray(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw invalid(`${where} must be a list`);
  return v;
}

function str(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${where} must be a string`);
  return v;
}

function bool(v: unknown, where: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${where} must be true or false`);
  return v;
}

function num(v: unknown, where: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw invalid(`${where} must be a number`);
  return n;
}

function int(v: unknown, where: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const n = num(v, where);
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < min || n > max) throw invalid(`${where} must be an integer between ${min} and ${max} (got ${JSON.stringify(v)})`);
  return n;
}
