import { Cron } from 'croner';
import { readConfigFile, type ConfigFile } from '../core/config-file.js';
import { ferry } from '../core/errors.js';
import { logShare } from '../monitoring/log-share.js';
import type { JobSpec } from './types.js';

/** A job declared in the config file (`batch.jobs` in ferry.yaml). */
export interface DeclaredJob {
  readonly name: string;
  readonly spec: JobSpec;
}

type Raw = Record<string, unknown>;

const JOB_KEYS = ['name', 'model', 'input', 'query', 'input_format', 'output', 'output_format', 'rejects', 'key', 'passthrough', 'input_columns', 'watermark', 'chunk_size', 'workers', 'max_reject_rate', 'cron', 'log', 'strict_columns'];

/** Read `batch.jobs` from a ferry.yaml (other sections belong to `ferry serve`). */
export function loadBatchConfig(path: string): DeclaredJob[] {
  return batchJobsOf(readConfigFile(path));
}

/** The jobs a config file declares (`batch.jobs`). */
export function batchJobsOf(file: ConfigFile): DeclaredJob[] {
  return parseBatchConfig(file.root, file.path);
}

/** Validate the `batch` section of a parsed config document. */
export function parseBatchConfig(doc: unknown, where: string): DeclaredJob[] {
  const root = object(doc, where);
  if (root.batch === undefined) return [];
  const batch = object(root.batch, `${where}: batch`);
  const unknown = Object.keys(batch).filter((k) => k !== 'jobs');
  if (unknown.length > 0) throw invalid(`${where}: batch: unknown key(s) ${unknown.join(', ')} (known: jobs)`);
  if (batch.jobs === undefined) return [];
  if (!Array.isArray(batch.jobs)) throw invalid(`${where}: batch.jobs must be a list`);
  const names = new Set<string>();
  return batch.jobs.map((raw, i) => {
    const at = `${where}: batch.jobs[${i}]`;
    const job = object(raw, at);
    const extra = Object.keys(job).filter((k) => !JOB_KEYS.includes(k));
    if (extra.length > 0) throw invalid(`${at}: unknown key(s) ${extra.join(', ')} (known: ${JOB_KEYS.join(', ')})`);
    const name = required(job, 'name', at);
    if (names.has(name)) throw invalid(`${at}: job "${name}" is declared twice`);
    names.add(name);
    const cron = optional(job, 'cron', at);
    if (cron !== undefined) checkCron(cron);
    const spec: JobSpec = {
      model: required(job, 'model', at), input: required(job, 'input', at), output: required(job, 'output', at),
      key: list(job.key, `${at}.key`), passthrough: list(job.passthrough, `${at}.passthrough`),
      ...opt('query', optional(job, 'query', at)), ...opt('inputFormat', optional(job, 'input_format', at)), ...opt('outputFormat', optional(job, 'output_format', at)),
      ...opt('rejects', optional(job, 'rejects', at)), ...opt('watermark', optional(job, 'watermark', at)), ...opt('cron', cron),
      ...opt('chunkSize', int(job.chunk_size, `${at}.chunk_size`, 1)), ...opt('workers', int(job.workers, `${at}.workers`, 1)),
      ...opt('maxRejectRate', rate(job.max_reject_rate, `${at}.max_reject_rate`)),
      ...opt('inputColumns', columns(job.input_columns, `${at}.input_columns`)),
      ...opt('logPredictions', logShare(job.log, `${at}.log`, 'FERRY_E_CONFIG_INVALID')),
      ...(strictColumns(job.strict_columns, `${at}.strict_columns`) ? { strictColumns: true } : {}),
    };
    return { name, spec };
  });
}

function strictColumns(value: unknown, where: string): boolean {
  if (value === undefined || typeof value === 'boolean') return value === true;
  throw invalid(`${where} must be true or false`);
}

/** Refuse a cron expression croner does not accept. */
export function checkCron(cron: string): void {
  try {
    new Cron(cron, { paused: true }).stop();
  } catch (err) {
    throw ferry('FERRY_E_BATCH_CRON_INVALID', { cron, detail: err instanceof Error ? err.message : String(err) }, err);
  }
}

function opt<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function invalid(detail: string): Error {
  return ferry('FERRY_E_CONFIG_INVALID', { detail });
}

function object(v: unknown, where: string): Raw {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${where} must be a mapping`);
  return v as Raw;
}

function required(o: Raw, key: string, where: string): string {
  const v = optional(o, key, where);
  if (v === undefined || v === '') throw invalid(`${where}: "${key}" is required`);
  return v;
}

function optional(o: Raw, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${where}: "${key}" must be a string`);
  return v;
}

function list(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(`${where} must be a list of column names`);
  return v as string[];
}

function int(v: unknown, where: string, min: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalid(`${where} must be an integer ≥ ${min}`);
  return v;
}

function rate(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || v < 0 || v > 1) throw invalid(`${where} must be a number from 0 to 1`);
  return v;
}

function columns(v: unknown, where: string): Record<string, string[]> | undefined {
  if (v === undefined || v === null) return undefined;
  const o = object(v, where);
  return Object.fromEntries(Object.entries(o).map(([k, cols]) => [k, list(cols, `${where}.${k}`)]));
}
