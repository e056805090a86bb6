/** Numeric attributes of a RegressionModel's elements (regression.ts scores with them, regression-linear.ts reads its linear form from them). */
import type { CompileContext } from '../types.js';
import { attr, type XmlElement } from '../xml.js';
import { parseNumber } from '../values.js';

/** Attribute `name` as a number; `fallback` when absent (required without one); refuses text that is not a number. */
export function numberOf(el: XmlElement, name: string, ctx: CompileContext, fallback?: number): number {
  const t = attr(el, name);
  if (t === undefined) {
    if (fallback === undefined) ctx.invalid(el, `attribute "${name}" is required`);
    return fallback;
  }
  const n = parseNumber(t);
  if (Number.isNaN(n)) ctx.invalid(el, `attribute ${name}="${t}" is not a number`);
  return n;
}
