/**
 * Targets: post-processing of a model's predicted value (min/max, rescaleFactor,
 * rescaleConstant, castInteger), default values and prior probabilities when the model gives
 * no prediction, and display values.
 */
import { invalid, need, numberAttr } from './expressions.js';
import type { Scope } from './scope.js';
import type { Prediction, Value } from './types.js';
import { attr, children, type XmlElement } from './xml.js';
import { toType, valueKey } from './values.js';

export interface TargetsPlan {
  apply(prediction: Prediction): Prediction;
  /** The displayValue declared for a target value, if any. */
  displayValue(value: Value): string | undefined;
}

interface TargetPlan {
  readonly field: string | undefined;
  readonly post: (v: number) => number;
  readonly hasPost: boolean;
  readonly defaultValue: Value;
  readonly priors: ReadonlyMap<string, number>;
  readonly priorValues: readonly Value[];
  readonly display: ReadonlyMap<string, string>;
}

function castInteger(how: string | undefined, el: XmlElement): ((v: number) => number) | undefined {
  switch (how) {
    case undefined: return undefined;
    case 'round': return (v) => Math.floor(v + 0.5);
    case 'ceiling': return Math.ceil;
    case 'floor': return Math.floor;
    default: return invalid(el, `castInteger="${how}" is not round, ceiling or floor`);
  }
}

function target(el: XmlElement, scope: Scope): TargetPlan {
  const field = attr(el, 'field');
  const info = field === undefined ? undefined : scope.field(field);
  const factor = numberAttr(el, 'rescaleFactor', 1);
  const constant = numberAttr(el, 'rescaleConstant', 0);
  const min = attr(el, 'min') === undefined ? undefined : numberAttr(el, 'min');
  const max = attr(el, 'max') === undefined ? undefined : numberAttr(el, 'max');
  const cast = castInteger(attr(el, 'castInteger'), el);
  const hasPost = factor !== 1 || constant !== 0 || min !== undefined || max !== undefined || cast !== undefined;
  const post = (v: number): number => {
    let x = v;
    if (min !== undefined && x < min) x = min;
    if (max !== undefined && x > max) x = max;
    x = x * factor + constant;
    return cast ? cast(x) : x;
  };
  let defaultValue: Value = null;
  const priors = new Map<string, number>();
  const priorValues: Value[] = [];
  const display = new Map<string, string>();
  for (const tv of children(el, 'TargetValue')) {
    const text = attr(tv, 'value');
    const value: Value = text === undefined ? null : info ? toType(info.dataType, text) ?? text : text;
    const d = attr(tv, 'defaultValue');
    if (d !== undefined) defaultValue = info ? toType(info.dataType, d) ?? d : Number(d);
    const p = attr(tv, 'priorProbability');
    if (p !== undefined && text !== undefined) {
      priors.set(text, numberAttr(tv, 'priorProbability'));
      priorValues.push(value);
    }
    const dv = attr(tv, 'displayValue');
    if (dv !== undefined && text !== undefined) display.set(valueKey(value), dv);
  }
  void need;
  return { field, post, hasPost, defaultValue, priors, priorValues, display };
}

/** Compile a Targets element. */
export function compileTargets(el: XmlElement, scope: Scope): TargetsPlan {
  const plans = children(el, 'Target').map((t) => target(t, scope));
  const first = plans[0];
  const applyOne = (plan: TargetPlan, value: Value, prediction: Prediction): Prediction => {
    if (value === null) {
      if (plan.priors.size > 0) {
        let best: Value = null;
        let bestP = -Infinity;
        [...plan.priors.entries()].forEach(([, p], i) => {
          if (p > bestP) { bestP = p; best = plan.priorValues[i] ?? null; }
        });
        return { ...prediction, value: best, probabilities: plan.priors };
      }
      if (plan.defaultValue !== null) return { ...prediction, value: plan.hasPost && typeof plan.defaultValue === 'number' ? plan.post(plan.defaultValue) : plan.defaultValue };
      return prediction;
    }
    if (plan.hasPost && typeof value === 'number') return { ...prediction, value: plan.post(value) };
    return prediction;
  };
  return {
    apply(prediction) {
      if (!first) return prediction;
      if (prediction.targets && plans.length > 1) {
        const targets = new Map(prediction.targets);
        for (const plan of plans) {
          if (plan.field === undefined) continue;
          const v = targets.get(plan.field) ?? null;
          targets.set(plan.field, applyOne(plan, v, { value: v }).value);
        }
        return { ...prediction, targets, value: first.field === undefined ? prediction.value : targets.get(first.field) ?? null };
      }
      return applyOne(first, prediction.value, prediction);
    },
    displayValue(value) {
      if (!first) return undefined;
      return first.display.get(valueKey(value));
    },
  };
}
