/**
 * Output spaces for models explained in margin space (trees, linear): the margin itself, or the
 * presented probability. Path-dependent TreeSHAP and linear attributions are exact in margin
 * space; in probability space each output's attributions are rescaled by
 * (p(x) − p(base)) / (margin(x) − base), so they stay additive and keep their signs and order,
 * but they are not the Shapley values of the probability function (docs/explain.md).
 */
import { ferry } from '../core/errors.js';
import type { Link } from '../runtimes/model-structure.js';
import { residuals, type Attributions, type ExplainMethod, type OutputSpace } from './explainer.js';

/** The spaces a link allows: probability only where the link makes one (sigmoid, softmax). */
export function spacesOf(link: Link): readonly OutputSpace[] {
  if (link.kind === 'probability') return ['probability'];
  return link.kind === 'sigmoid' || link.kind === 'softmax' ? ['margin', 'probability'] : ['margin'];
}

export function checkSpace(space: OutputSpace | undefined, spaces: readonly OutputSpace[], model: string): OutputSpace {
  const s = space ?? spaces[0]!;
  if (!spaces.includes(s)) {
    const detail = s === 'probability' ? 'its scores are not probabilities (no sigmoid or softmax link)' : `${s} applies to models explained by sampling`;
    throw ferry('FERRY_E_EXPLAIN_SPACE', { space: s, model, detail, spaces: spaces.join(', ') });
  }
  return s;
}

/** Probabilities from margins (rows × groups), by the link. */
function linked(link: Link, m: Float64Array, rows: number, groups: number): Float64Array {
  const p = new Float64Array(m.length);
  if (link.kind === 'sigmoid') {
    for (let i = 0; i < m.length; i++) p[i] = 1 / (1 + Math.exp(-link.scale * m[i]!));
  } else if (link.kind === 'softmax') {
    for (let r = 0; r < rows; r++) {
      const o = r * groups;
      let max = -Infinity;
      for (let g = 0; g < groups; g++) max = Math.max(max, m[o + g]!);
      let sum = 0;
      for (let g = 0; g < groups; g++) sum += (p[o + g] = Math.exp(m[o + g]! - max));
      for (let g = 0; g < groups; g++) p[o + g] = p[o + g]! / sum;
    }
  } else {
    p.set(m);
  }
  return p;
}

/** Margin-space attributions as `Attributions` in the asked space. */
export function inSpace(method: ExplainMethod, space: OutputSpace, link: Link, base: Float64Array, values: Float64Array, margins: Float64Array,
  rows: number, groups: number, features: number): Attributions {
  if (space !== 'probability' || link.kind === 'probability') {
    return { method, approximate: false, space, rows, groups, features, base, values, scores: margins, residual: residuals(base, values, margins, rows, groups, features) };
  }
  const pBase = linked(link, base, 1, groups);
  const p = linked(link, margins, rows, groups);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const at = (r * groups + g) * features;
      // The margin's change (not Σ values: their residual stays visible, scaled); where it is ~0
      // the slope of the link stands in for the ratio.
      const dm = margins[r * groups + g]! - base[g]!;
      const dp = p[r * groups + g]! - pBase[g]!;
      const q = p[r * groups + g]!;
      const factor = Math.abs(dm) > 1e-12 ? dp / dm : link.kind === 'sigmoid' ? link.scale * q * (1 - q) : q * (1 - q);
      for (let j = 0; j < features; j++) values[at + j] = values[at + j]! * factor;
    }
  }
  return { method, approximate: false, space, rows, groups, features, base: pBase, values, scores: p, residual: residuals(pBase, values, p, rows, groups, features) };
}
