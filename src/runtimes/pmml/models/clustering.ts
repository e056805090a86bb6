/**
 * ClusteringModel (center-based): the row's ClusteringField values are compared with every
 * Cluster's centre through the ComparisonMeasure; the best cluster wins (first on ties).
 * Prediction value = cluster id (`id` attribute, else the 1-based position), displayValue = name,
 * affinities = distance/similarity to every cluster, entities = clusters ranked best first.
 */
import type { KernelCompiler, Prediction, Row } from '../types.js';
import { attr, child, children } from '../xml.js';
import { childArray, compileMeasure, numAttr, rank, reqChild, reqChildren, toNum, type MeasureField } from './kernel-helpers.js';

export const compileClustering: KernelCompiler = (el, ctx) => {
  const modelClass = attr(el, 'modelClass') ?? 'centerBased';
  if (modelClass !== 'centerBased') ctx.unsupported(el, `modelClass="${modelClass}"`);
  const centerFields = child(el, 'CenterFields');
  if (centerFields) ctx.unsupported(centerFields, 'CenterFields (PMML 3.x cluster centres)');
  const cm = reqChild(el, 'ComparisonMeasure', ctx);
  const defaultCompare = attr(cm, 'compareFunction') ?? 'absDiff';
  const cfs = children(el, 'ClusteringField').filter((f) => attr(f, 'isCenterField') !== 'false');
  if (cfs.length === 0) ctx.invalid(el, 'at least one ClusteringField is required');
  const names = cfs.map((f) => {
    if (child(f, 'Comparisons')) ctx.unsupported(f, 'Comparisons (compareFunction table)');
    const name = attr(f, 'field');
    if (!name) return ctx.invalid(f, 'attribute field is required');
    return name;
  });
  const fields: MeasureField[] = cfs.map((f) => ({
    compareFunction: attr(f, 'compareFunction') ?? defaultCompare,
    weight: numAttr(f, 'fieldWeight', ctx, 1),
    similarityScale: numAttr(f, 'similarityScale', ctx),
  }));
  const mvw = child(el, 'MissingValueWeights');
  const missingWeights = mvw ? childArray(mvw, ctx) : undefined;
  if (missingWeights && missingWeights.length !== names.length) ctx.invalid(mvw!, 'one weight per ClusteringField is required');
  const measure = compileMeasure(cm, fields, missingWeights, ctx);

  const clusters = reqChildren(el, 'Cluster', ctx);
  const ids = clusters.map((c, i) => attr(c, 'id') ?? String(i + 1));
  const labels = clusters.map((c) => attr(c, 'name'));
  const centres = clusters.map((c) => {
    if (child(c, 'KohonenMap') && !c.children.some((x) => x.name === 'Array')) ctx.unsupported(c, 'cluster without centre');
    const a = childArray(c, ctx);
    if (a.length !== names.length) ctx.invalid(c, `centre has ${a.length} values for ${names.length} ClusteringFields`);
    return a;
  });
  const k = names.length;

  return {
    evaluate(row: Row): Prediction {
      const x = new Float64Array(k);
      let present = 0;
      for (let i = 0; i < k; i++) {
        const v = toNum(row.get(names[i]!));
        x[i] = v === null ? NaN : v;
        if (v !== null) present++;
      }
      if (present === 0) return { value: null };
      const scores = new Float64Array(centres.length);
      for (let c = 0; c < centres.length; c++) scores[c] = measure.compare(x, centres[c]!);
      const order = rank(scores, measure.better);
      const best = order[0]!;
      if (Number.isNaN(scores[best]!)) return { value: null };
      const affinities = new Map<string, number>();
      ids.forEach((id, i) => affinities.set(id, scores[i]!));
      const label = labels[best];
      return {
        value: ids[best]!,
        ...(label !== undefined ? { displayValue: label } : {}),
        entityId: ids[best]!,
        affinities,
        entities: order.map((i) => ({ id: ids[i]!, affinity: scores[i]!, value: labels[i] ?? ids[i]! })),
      };
    },
  };
};
