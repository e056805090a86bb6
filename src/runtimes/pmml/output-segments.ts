/**
 * OutputFields of a MiningModel whose segments are selected or chained (selectAll, modelChain):
 * a feature of one segment's result (`segmentId`), missing when that segment was not selected.
 */
import { expressionChild } from './expressions.js';
import type { OutputEnv } from './output.js';
import type { OutputGetter } from './types.js';
import { attr, type XmlElement } from './xml.js';

/** Features computed by an expression over the row (as opposed to read from a prediction). */
const EXPRESSION_FEATURES = new Set(['transformedValue', 'decision']);

/** The getter of an OutputField of a model with per-segment results; `predictionGetter` reads a prediction's feature. */
export function segmentGetter(el: XmlElement, env: OutputEnv, predictionGetter: (el: XmlElement, env: OutputEnv) => OutputGetter): OutputGetter {
  const segmentId = attr(el, 'segmentId');
  const feature = attr(el, 'feature') ?? 'predictedValue';
  const perSegment = env.kernel.segmentResults;
  if (segmentId !== undefined) {
    // The feature of one segment's result (MiningModel selectAll or modelChain); missing when that segment was not selected.
    if (!perSegment) return env.ctx.unsupported(el, `OutputField segmentId="${segmentId}" is supported only in a MiningModel with multipleModelMethod="selectAll" or "modelChain"`);
    if (!perSegment.ids.has(segmentId)) return env.ctx.invalid(el, `OutputField segmentId="${segmentId}" names no Segment of this MiningModel (ids: ${[...perSegment.ids].join(', ')})`);
    if (EXPRESSION_FEATURES.has(feature) && expressionChild(el)) return env.ctx.unsupported(el, `OutputField segmentId="${segmentId}" with a ${feature} expression is not supported`);
    const inner = predictionGetter(el, env);
    return (p, row) => {
      const r = p.segments?.get(segmentId);
      return r ? inner(r.prediction, row) : null;
    };
  }
  if (perSegment && !perSegment.whole && !(EXPRESSION_FEATURES.has(feature) && expressionChild(el))) {
    return env.ctx.unsupported(el, `OutputField "${attr(el, 'name') ?? ''}" reads the whole selectAll result, which PMML defines as the list of every selected segment's value (one value per row cannot hold it): give it a segmentId naming one Segment`);
  }
  return predictionGetter(el, env);
}
