/**
 * RuleSetModel: SimpleRules (nested in CompoundRules, whose predicate must hold too) fire in document
 * order. The first RuleSelectionMethod decides: firstHit (the first fired rule), weightedMax (the fired rule
 * of largest weight, first on ties) or weightedSum (the score with the largest sum of weights; confidence =
 * that sum / number of fired rules). No rule fired: defaultScore / defaultConfidence.
 */
import type { KernelCompiler, Prediction, Row } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { labelTyper, numAttr, reqAttr, reqChild, reqChildren } from './kernel-helpers.js';

interface Rule {
  readonly id: string | undefined;
  readonly score: string;
  readonly weight: number;
  readonly confidence: number;
  readonly distribution: ReadonlyMap<string, number> | undefined;
}

type Test = (row: Row) => boolean | null;
type Node = { readonly test: Test; readonly rule: Rule } | { readonly test: Test; readonly nodes: readonly Node[] };

export const compileRuleSet: KernelCompiler = (el, ctx) => {
  const rs = reqChild(el, 'RuleSet', ctx);
  const methods = reqChildren(rs, 'RuleSelectionMethod', ctx);
  const criterion = reqAttr(methods[0]!, 'criterion', ctx);
  if (criterion !== 'firstHit' && criterion !== 'weightedSum' && criterion !== 'weightedMax') return ctx.unsupported(methods[0]!, `criterion="${criterion}"`);
  const defaultScore = attr(rs, 'defaultScore');
  const defaultConfidence = numAttr(rs, 'defaultConfidence', ctx);
  const target = ctx.target?.name;
  const typed = labelTyper(ctx, target, defaultScore === undefined ? [] : [defaultScore]);

  const compileRules = (parent: XmlElement): Node[] => parent.children.filter((c) => c.name === 'SimpleRule' || c.name === 'CompoundRule').map((r): Node => {
    const pred = r.children.find((c) => !['Extension', 'SimpleRule', 'CompoundRule', 'ScoreDistribution'].includes(c.name));
    if (!pred) return ctx.invalid(r, 'a predicate is required');
    const test = ctx.predicate(pred);
    if (r.name === 'CompoundRule') return { test, nodes: compileRules(r) };
    const sds = children(r, 'ScoreDistribution');
    let distribution: Map<string, number> | undefined;
    if (sds.length > 0) {
      const total = sds.reduce((s, d) => s + numAttr(d, 'recordCount', ctx, 0), 0);
      distribution = new Map(sds.map((d) => [reqAttr(d, 'value', ctx), numAttr(d, 'probability', ctx) ?? (total > 0 ? numAttr(d, 'recordCount', ctx, 0) / total : 0)]));
    }
    const score = reqAttr(r, 'score', ctx);
    typed(score); // converted now, looked up when scoring
    return {
      test,
      rule: {
        id: attr(r, 'id'),
        score,
        weight: numAttr(r, 'weight', ctx, 1),
        confidence: numAttr(r, 'confidence', ctx, 1),
        distribution,
      },
    };
  });
  const nodes = compileRules(rs);

  const fire = (list: readonly Node[], row: Row, out: Rule[], firstOnly: boolean): boolean => {
    for (const n of list) {
      if (n.test(row) !== true) continue;
      if ('rule' in n) {
        out.push(n.rule);
        if (firstOnly) return true;
      } else if (fire(n.nodes, row, out, firstOnly) && firstOnly) return true;
    }
    return false;
  };

  const fromRule = (r: Rule): Prediction => ({
    value: typed(r.score),
    confidences: new Map([[r.score, r.confidence]]),
    ...(r.distribution ? { probabilities: r.distribution } : {}),
    ...(r.id !== undefined ? { entityId: r.id } : {}),
  });

  return {
    evaluate(row: Row): Prediction {
      const fired: Rule[] = [];
      fire(nodes, row, fired, criterion === 'firstHit');
      if (fired.length === 0) {
        if (defaultScore === undefined) return { value: null };
        return { value: typed(defaultScore), ...(defaultConfidence !== undefined ? { confidences: new Map([[defaultScore, defaultConfidence]]) } : {}) };
      }
      if (criterion === 'firstHit') return fromRule(fired[0]!);
      if (criterion === 'weightedMax') {
        let best = fired[0]!;
        for (const r of fired) if (r.weight > best.weight) best = r;
        return fromRule(best);
      }
      const sums = new Map<string, number>();
      for (const r of fired) sums.set(r.score, (sums.get(r.score) ?? 0) + r.weight);
      let best: string | undefined;
      for (const [score, s] of sums) if (best === undefined || s > sums.get(best)!) best = score;
      const confidences = new Map<string, number>();
      for (const [score, s] of sums) confidences.set(score, s / fired.length);
      // The entity is the first fired rule with the winning score (as JPMML reports it).
      const id = fired.find((r) => r.score === best)?.id;
      return { value: typed(best!), confidences, ...(id !== undefined ? { entityId: id } : {}) };
    },
  };
};
