/**
 * AssociationModel: Items, Itemsets and AssociationRules are compiled into item-index arrays per rule.
 * A transaction is the set of values of the active field: `Row.values(field)` when the core groups rows by
 * the usageType="group" field, else the one value of `Row.get(field)`. Per transaction each rule's
 * antecedent/consequent containment is computed once; Output fields select rules by algorithm —
 * recommendation (antecedent ⊆ input), exclusiveRecommendation (… and consequent ⊄ input),
 * ruleAssociation (antecedent ∪ consequent ⊆ input) — ranked by rankBasis/rankOrder (document order on ties).
 */
import type { FiredRule, KernelCompiler, OutputGetter, Prediction, Row, Value } from '../types.js';
import { attr, children, type XmlElement } from '../xml.js';
import { castTo, keyOf, numAttr, reqAttr, reqChildren } from './kernel-helpers.js';

interface Rule extends FiredRule {
  readonly ante: Int32Array; // item indices
  readonly cons: Int32Array;
  readonly text: string;
}

interface Match {
  readonly antecedent: Uint8Array; // per rule: antecedent ⊆ transaction
  readonly consequent: Uint8Array; // per rule: consequent ⊆ transaction
}

const ALGORITHMS = new Set(['recommendation', 'exclusiveRecommendation', 'ruleAssociation']);
const BASES = new Set(['confidence', 'support', 'lift', 'leverage', 'affinity']);
const RULE_FEATURES = new Set(['antecedent', 'consequent', 'rule', 'ruleId', 'support', 'confidence', 'lift', 'leverage', 'affinity']);

export const compileAssociation: KernelCompiler = (el, ctx) => {
  const items = reqChildren(el, 'Item', ctx);
  const itemIndex = new Map<string, number>();
  const itemValues = items.map((it, i) => {
    itemIndex.set(reqAttr(it, 'id', ctx), i);
    return reqAttr(it, 'value', ctx);
  });
  const byValue = new Map<string, number>();
  itemValues.forEach((v, i) => { if (!byValue.has(v)) byValue.set(v, i); });
  const itemsets = new Map<string, Int32Array>();
  for (const s of children(el, 'Itemset')) {
    itemsets.set(reqAttr(s, 'id', ctx), Int32Array.from(children(s, 'ItemRef'), (r) => {
      const i = itemIndex.get(reqAttr(r, 'itemRef', ctx));
      if (i === undefined) return ctx.invalid(r, `itemRef="${attr(r, 'itemRef') ?? ''}" names no Item`);
      return i;
    }));
  }
  const setOf = (r: XmlElement, name: string): Int32Array => {
    const s = itemsets.get(reqAttr(r, name, ctx));
    if (!s) return ctx.invalid(r, `${name}="${attr(r, name) ?? ''}" names no Itemset`);
    return s;
  };
  const label = (s: Int32Array): string => `{${Array.from(s, (i) => itemValues[i]!).join(',')}}`;
  const rules: Rule[] = children(el, 'AssociationRule').map((r, i) => {
    const ante = setOf(r, 'antecedent'), cons = setOf(r, 'consequent');
    return {
      id: attr(r, 'id') ?? String(i + 1),
      antecedent: Array.from(ante, (j) => itemValues[j]!),
      consequent: Array.from(cons, (j) => itemValues[j]!),
      support: numAttr(r, 'support', ctx, NaN),
      confidence: numAttr(r, 'confidence', ctx, NaN),
      lift: numAttr(r, 'lift', ctx) ?? null,
      leverage: numAttr(r, 'leverage', ctx) ?? null,
      affinity: numAttr(r, 'affinity', ctx) ?? null,
      ante, cons,
      text: `${label(ante)}->${label(cons)}`,
    };
  });
  const field = ctx.activeFields[0]?.name;
  if (!field) return ctx.invalid(el, 'an active MiningField (the items) is required');

  const matches = new WeakMap<Row, Match>();
  const match = (row: Row): Match => {
    const cached = matches.get(row);
    if (cached) return cached;
    const present = new Uint8Array(itemValues.length);
    const values = row.values ? row.values(field) : [row.get(field)];
    for (const v of values) {
      if (v === null) continue;
      const i = byValue.get(keyOf(v));
      if (i !== undefined) present[i] = 1;
    }
    const all = (s: Int32Array): number => { for (const i of s) if (!present[i]) return 0; return 1; };
    const m: Match = { antecedent: Uint8Array.from(rules, (r) => all(r.ante)), consequent: Uint8Array.from(rules, (r) => all(r.cons)) };
    matches.set(row, m);
    return m;
  };

  const select = (algorithm: string, basis: string, ascending: boolean): ((row: Row) => Rule[]) => (row) => {
    const m = match(row);
    const out: Rule[] = [];
    rules.forEach((r, i) => {
      if (!m.antecedent[i]) return;
      if (algorithm === 'exclusiveRecommendation' && m.consequent[i]) return;
      if (algorithm === 'ruleAssociation' && !m.consequent[i]) return;
      out.push(r);
    });
    const key = (r: Rule): number => (r[basis as keyof FiredRule] as number | null) ?? NaN;
    // Array.prototype.sort is stable: ties keep document order.
    out.sort((a, b) => (ascending ? key(a) - key(b) : key(b) - key(a)) || 0);
    return out;
  };
  const recommendation = select('recommendation', 'confidence', false);

  return {
    evaluate(row: Row): Prediction {
      const fired = recommendation(row);
      return { value: null, rules: fired, ...(fired[0] ? { entityId: fired[0].id } : {}) };
    },
    resolveOutput(of: XmlElement): OutputGetter | undefined {
      const feature = attr(of, 'feature') ?? 'predictedValue';
      let ruleFeature: string;
      if (feature === 'ruleValue') ruleFeature = attr(of, 'ruleFeature') ?? 'consequent';
      else if (feature === 'entityId') ruleFeature = 'ruleId';
      // PMML 4.2+ names rule features directly (feature="ruleId", "support", …); 4.0/4.1 use ruleValue + ruleFeature.
      else if (RULE_FEATURES.has(feature)) ruleFeature = feature;
      else return undefined;
      if (!RULE_FEATURES.has(ruleFeature)) return ctx.unsupported(of, `ruleFeature="${ruleFeature}"`);
      if (attr(of, 'isMultiValued') === '1' || attr(of, 'isMultiValued') === 'true') return ctx.unsupported(of, 'isMultiValued');
      const algorithm = attr(of, 'algorithm') ?? 'recommendation';
      if (!ALGORITHMS.has(algorithm)) return ctx.unsupported(of, `algorithm="${algorithm}"`);
      const basis = attr(of, 'rankBasis') ?? 'confidence';
      if (!BASES.has(basis)) return ctx.unsupported(of, `rankBasis="${basis}"`);
      const order = attr(of, 'rankOrder') ?? 'descending';
      if (order !== 'descending' && order !== 'ascending') return ctx.unsupported(of, `rankOrder="${order}"`);
      const ascending = order === 'ascending';
      const rankN = numAttr(of, 'rank', ctx, 1);
      const dataType = attr(of, 'dataType');
      const pick = select(algorithm, basis, ascending);
      const read = (r: Rule): Value => {
        switch (ruleFeature) {
          case 'antecedent': return r.antecedent.length === 1 ? r.antecedent[0]! : label(r.ante);
          case 'consequent': return r.consequent.length === 1 ? r.consequent[0]! : label(r.cons);
          case 'rule': return r.text;
          case 'ruleId': return r.id;
          default: return (r[ruleFeature as keyof FiredRule] as number | null) ?? null;
        }
      };
      return (_prediction, row) => {
        const r = pick(row)[rankN - 1];
        return r ? castTo(dataType, read(r)) : null;
      };
    },
  };
};
