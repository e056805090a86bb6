import { ferry } from '../core/errors.js';

/**
 * The share of `--log-predictions [share]` (true when given without a value = 1), or of a
 * `log:` setting (`true`, a number, or `{sample: x}` as in ferry.yaml model entries).
 * Undefined when logging is off (absent, false, or a share of 0).
 */
export function logShare(value: unknown, where: string, code: 'FERRY_E_PARAMETER_INVALID' | 'FERRY_E_CONFIG_INVALID' = 'FERRY_E_PARAMETER_INVALID'): number | undefined {
  const refuse = (detail: string) => (code === 'FERRY_E_PARAMETER_INVALID' ? ferry(code, { name: where, detail }) : ferry(code, { detail: `${where}: ${detail}` }));
  if (value === undefined || value === null || value === false) return undefined;
  if (value === true) return 1;
  let raw: unknown = value;
  if (typeof raw === 'object' && !Array.isArray(raw)) {
    const keys = Object.keys(raw as object).filter((k) => k !== 'sample');
    if (keys.length > 0) throw refuse(`unknown key(s) ${keys.join(', ')} (known: sample)`);
    raw = (raw as { sample?: unknown }).sample ?? 1;
  }
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) throw refuse(`give a share of predictions from 0 to 1 (got ${JSON.stringify(value)})`);
  return n === 0 ? undefined : n;
}
