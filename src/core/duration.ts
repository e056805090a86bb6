import { ferry } from './errors.js';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/;

/** Whether `text` reads as a duration (`90s`, `30m`, `1h`, `7d`, `2w`). */
export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

/**
 * `90s`, `30m`, `1h`, `7d`, `2w` → milliseconds; `what` names the setting in the error as its caller
 * knows it (`--window` for a CLI flag, `window` for a query parameter).
 */
export function parseDuration(text: string, what: string): number {
  const m = DURATION.exec(text);
  if (!m?.[1] || !m[2]) throw ferry('FERRY_E_PARAMETER_INVALID', { name: what, detail: `"${text}" must be a number with a unit: ms, s, m, h, d or w (e.g. 1h)` });
  return Number(m[1]) * (UNITS[m[2]] ?? 1);
}
