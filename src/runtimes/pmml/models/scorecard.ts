/**
 * Scorecard: initialScore + the partial score of the first true Attribute of every Characteristic
 * (partialScore, or a ComplexPartialScore expression). With useReasonCodes, each fired attribute adds
 * (partialScore − baselineScore) for pointsAbove or (baselineScore − partialScore) for pointsBelow to its
 * reason code (the Attribute's, else the Characteristic's); codes with a total ≥ 0 are ranked by total,
 * largest first (document order on ties). A Characteristic with no true Attribute makes the score missing.
 */
import type { Expr, KernelCompiler, Prediction, Row, ScorecardKernel } from '../types.js';
import { attr, child, type XmlElement } from '../xml.js';
import { numAttr, reqChild, reqChildren, toNum } from './kernel-helpers.js';

interface Attribute {
  readonly test: (row: Row) => boolean | null;
  readonly points: number | Expr;
  readonly reasonCode: string | undefined;
}

interface Characteristic {
  readonly attributes: readonly Attribute[];
  readonly baseline: number;
}

export const compileScorecard: KernelCompiler = (el, ctx) => {
  const initial = numAttr(el, 'initialScore', ctx, 0);
  const useReasonCodes = attr(el, 'useReasonCodes') !== 'false';
  const algorithm = attr(el, 'reasonCodeAlgorithm') ?? 'pointsBelow';
  if (algorithm !== 'pointsBelow' && algorithm !== 'pointsAbove') ctx.unsupported(el, `reasonCodeAlgorithm="${algorithm}"`);
  const below = algorithm === 'pointsBelow';
  const modelBaseline = numAttr(el, 'baselineScore', ctx);

  const characteristics: Characteristic[] = reqChildren(reqChild(el, 'Characteristics', ctx), 'Characteristic', ctx).map((ch) => {
    const baseline = numAttr(ch, 'baselineScore', ctx) ?? modelBaseline;
    if (useReasonCodes && baseline === undefined) ctx.invalid(ch, 'baselineScore is required when useReasonCodes is true');
    const attributes = reqChildren(ch, 'Attribute', ctx).map((a): Attribute => {
      const pred = a.children.find((c) => c.name !== 'Extension' && c.name !== 'ComplexPartialScore');
      if (!pred) return ctx.invalid(a, 'a predicate is required');
      const cps = child(a, 'ComplexPartialScore');
      const cpsExpr = cps?.children.find((c) => c.name !== 'Extension');
      const partial = numAttr(a, 'partialScore', ctx);
      if (!cpsExpr && partial === undefined) ctx.invalid(a, 'partialScore or ComplexPartialScore is required');
      const reasonCode = attr(a, 'reasonCode') ?? attr(ch, 'reasonCode');
      if (useReasonCodes && reasonCode === undefined) ctx.invalid(a, 'a reasonCode is required when useReasonCodes is true');
      return { test: ctx.predicate(pred), points: cpsExpr ? ctx.expression(cpsExpr) : partial!, reasonCode };
    });
    return { attributes, baseline: baseline ?? 0 };
  });

  // Explanations need one field per Characteristic (and no expression scores reading others).
  const charEls = reqChildren(reqChild(el, 'Characteristics', ctx), 'Characteristic', ctx);
  const fieldsOf = charEls.map((ch) => {
    const read = new Set<string>();
    for (const a of reqChildren(ch, 'Attribute', ctx)) {
      if (child(a, 'ComplexPartialScore')) return undefined;
      for (const p of a.children) if (p.name !== 'Extension') predicateFields(p, read);
    }
    return read.size === 1 ? [...read][0]! : undefined;
  });
  const scorecard: ScorecardKernel | undefined = fieldsOf.every((f) => f !== undefined)
    ? { fields: fieldsOf, baselines: Float64Array.from(characteristics, (c) => c.baseline), initialScore: initial, algorithm: below ? 'pointsBelow' : 'pointsAbove' }
    : undefined;

  return {
    ...(scorecard ? { scorecard } : {}),
    evaluate(row: Row): Prediction {
      let score = initial;
      const codes = new Map<string, number>();
      const partialScores = new Float64Array(characteristics.length);
      for (let c = 0; c < characteristics.length; c++) {
        const ch = characteristics[c]!;
        let fired = false;
        for (const a of ch.attributes) {
          if (a.test(row) !== true) continue;
          const points = typeof a.points === 'number' ? a.points : toNum(a.points(row));
          if (points === null) return { value: null };
          score += points;
          partialScores[c] = points;
          if (useReasonCodes) {
            const diff = below ? ch.baseline - points : points - ch.baseline;
            codes.set(a.reasonCode!, (codes.get(a.reasonCode!) ?? 0) + diff);
          }
          fired = true;
          break;
        }
        if (!fired) return { value: null };
      }
      if (!useReasonCodes) return { value: score, partialScores };
      const ranked = [...codes].filter(([, v]) => v >= 0);
      ranked.sort((a, b) => b[1] - a[1]);
      return { value: score, reasonCodes: ranked.map(([code]) => code), reasonPoints: ranked.map(([, v]) => v), partialScores };
    },
  };
};

/** The fields a predicate element tests (SimplePredicate, SimpleSetPredicate, inside CompoundPredicate). */
function predicateFields(el: XmlElement, out: Set<string>): void {
  const field = attr(el, 'field');
  if (field !== undefined) out.add(field);
  for (const c of el.children) predicateFields(c, out);
}
