/**
 * Scorecard: initialScore + the partial score of the first true Attribute of every Characteristic
 * (partialScore, or a ComplexPartialScore expression). With useReasonCodes, each fired attribute adds
 * (partialScore − baselineScore) for pointsAbove or (baselineScore − partialScore) for pointsBelow to its
 * reason code (the Attribute's, else the Characteristic's); codes with a total ≥ 0 are ranked by total,
 * largest first (document order on ties). A Characteristic with no true Attribute makes the score missing.
 */
import type { Expr, KernelCompiler, Prediction, Row } from '../types.js';
import { attr, child } from '../xml.js';
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

  return {
    evaluate(row: Row): Prediction {
      let score = initial;
      const codes = new Map<string, number>();
      for (const ch of characteristics) {
        let fired = false;
        for (const a of ch.attributes) {
          if (a.test(row) !== true) continue;
          const points = typeof a.points === 'number' ? a.points : toNum(a.points(row));
          if (points === null) return { value: null };
          score += points;
          if (useReasonCodes) {
            const diff = below ? ch.baseline - points : points - ch.baseline;
            codes.set(a.reasonCode!, (codes.get(a.reasonCode!) ?? 0) + diff);
          }
          fired = true;
          break;
        }
        if (!fired) return { value: null };
      }
      if (!useReasonCodes) return { value: score };
      const ranked = [...codes].filter(([, v]) => v >= 0);
      ranked.sort((a, b) => b[1] - a[1]);
      return { value: score, reasonCodes: ranked.map(([code]) => code) };
    },
  };
};
