import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ferry } from './errors.js';

/**
 * A `ferry.yaml`, read and parsed once: each area validates its own section of `root` (serving
 * its keys, `batch.jobs` the scheduler's), so a process that serves and schedules parses the
 * file one time. Frozen all the way down: no area can change what another reads.
 */
export interface ConfigFile {
  readonly path: string;
  readonly root: Readonly<Record<string, unknown>>;
}

/** Read and parse a config file (FERRY_E_FILE_NOT_FOUND, FERRY_E_CONFIG_INVALID). */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw ferry('FERRY_E_FILE_NOT_FOUND', { path }, err);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw ferry('FERRY_E_CONFIG_INVALID', { detail: `${path}: ${err instanceof Error ? err.message : String(err)}` }, err);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw ferry('FERRY_E_CONFIG_INVALID', { detail: `${path}: the file must be a mapping of settings` });
  return Object.freeze({ path, root: deepFreeze(doc as Record<string, unknown>) });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

