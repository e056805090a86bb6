import { ferry, quoteList } from '../core/errors.js';
import type { TrafficSplitSpec } from './types.js';

const POINTER_RE = /^(latest|\d{1,9}|[A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;

/**
 * Check a traffic setting's shape (not whether its targets exist: Registry.setTraffic resolves
 * them) and return it normalised: canary weights ≥ 0 adding up to more than 0, each target
 * once; a shadow share between 0 and 1. An empty canary list means none.
 */
export function checkTrafficSpec(spec: TrafficSplitSpec): TrafficSplitSpec {
  const canary = spec.canary && spec.canary.length > 0 ? spec.canary : null;
  if (canary) {
    for (const r of canary) {
      if (!POINTER_RE.test(r.target)) throw usage(`canary target "${r.target}" is not a pointer: use latest, an alias or a version number`);
      if (!Number.isFinite(r.weight) || r.weight < 0) throw usage(`canary weight of "${r.target}" must be a number ≥ 0, got ${r.weight}`);
    }
    const targets = canary.map((r) => r.target);
    const twice = targets.filter((t, i) => targets.indexOf(t) !== i);
    if (twice.length > 0) throw usage(`canary lists ${quoteList([...new Set(twice)])} more than once`);
    if (canary.reduce((s, r) => s + r.weight, 0) <= 0) throw usage('canary weights must add up to more than 0');
  }
  const shadow = spec.shadow;
  if (shadow) {
    if (!POINTER_RE.test(shadow.target)) throw usage(`shadow target "${shadow.target}" is not a pointer: use latest, an alias or a version number`);
    if (!Number.isFinite(shadow.share) || shadow.share < 0 || shadow.share > 1) throw usage(`shadow share must be between 0 and 1, got ${shadow.share}`);
  }
  return {
    canary: canary ? canary.map((r) => ({ target: r.target, weight: r.weight })) : null,
    shadow: shadow ? { target: shadow.target, share: shadow.share } : null,
  };
}

/** The setting as one line, for the alias history and the CLI: `canary champion=90 challenger=10; shadow challenger 50%`. */
export function describeTraffic(spec: TrafficSplitSpec | null): string {
  if (spec === null) return 'traffic setting removed: ferry.yaml applies';
  const canary = spec.canary ? `canary ${spec.canary.map((r) => `${r.target}=${r.weight}`).join(' ')}` : 'canary off';
  const shadow = spec.shadow ? `shadow ${spec.shadow.target} ${Number((spec.shadow.share * 100).toPrecision(6))}%` : 'shadow off';
  return `${canary}; ${shadow}`;
}

function usage(detail: string) {
  return ferry('FERRY_E_TRAFFIC_INVALID', { detail });
}
