/**
 * Output: OutputFields read from a model's prediction (predictedValue, probability, entityId…)
 * or computed by an expression (transformedValue, decision). Each field is a getter compiled
 * once; later fields may read earlier ones by name.
 */
import { compileExpression, expressionChild, need, numberAttr } from './expressions.js';
import type { Scope } from './scope.js';
import { ModelRow } from './row.js';
import { segmentGetter } from './output-segments.js';
import type { TargetsPlan } from './targets.js';
import type { CompileContext, DataType, Expr, FieldInfo, ModelKernel, OpType, OutputGetter, Prediction, Row, Value } from './types.js';
import { attr, children, type XmlElement } from './xml.js';
import { isNumeric, toType, valueKey, valuesEqual } from './values.js';

export interface OutputFieldPlan {
  readonly info: FieldInfo;
  /** Whether it is a final result (isFinalResult is not "false"). */
  readonly final: boolean;
  readonly get: OutputGetter;
}

export interface OutputPlan {
  readonly fields: readonly OutputFieldPlan[];
  /** Compute every output field into `results`. */
  evaluate(prediction: Prediction, row: Row, results: Map<string, Value>): void;
}

export interface OutputEnv {
  readonly scope: Scope;
  readonly ctx: CompileContext;
  readonly kernel: ModelKernel;
  readonly targets: readonly FieldInfo[];
  readonly targetsInfo: TargetsPlan | undefined;
  readonly functionName: string;
}

const NO_DERIVED: ReadonlyMap<string, Expr> = new Map<string, Expr>();

/** Look a category up in a map keyed by category text, whatever the value's representation. */
export function byCategory<T>(map: ReadonlyMap<string, T> | undefined, value: Value): T | undefined {
  if (!map || value === null) return undefined;
  const direct = map.get(String(value));
  if (direct !== undefined) return direct;
  const key = valueKey(value);
  for (const [k, v] of map) if (valueKey(k) === key) return v;
  return undefined;
}

function targetValue(prediction: Prediction, field: string | undefined, _env: OutputEnv): Value {
  if (field !== undefined && prediction.targets) {
    const v = prediction.targets.get(field);
    if (v !== undefined) return v;
  }
  return prediction.value;
}

/** An OutputField's data type when it declares none: the target's for a predicted value, else by its expression. */
function predictedType(el: XmlElement, env: OutputEnv): DataType {
  const t = attr(el, 'targetField');
  const info = (t === undefined ? undefined : env.scope.field(t)) ?? env.targets[0];
  return info?.dataType ?? (env.functionName === 'regression' ? 'double' : 'string');
}

function expressionType(el: XmlElement, env: OutputEnv): DataType {
  const e = expressionChild(el);
  if (e && (e.name === 'NormContinuous' || e.name === 'NormDiscrete')) return 'double';
  if (e && e.name === 'Apply' && ['+', '-', '*', '/', 'exp', 'ln', 'log10', 'pow', 'sqrt', 'abs', 'min', 'max', 'sum', 'avg', 'round', 'floor', 'ceil'].includes(attr(e, 'function') ?? '')) return 'double';
  if (e && e.name === 'FieldRef') return env.scope.field(need(e, 'field'))?.dataType ?? 'string';
  return 'string';
}

const text = (): DataType => 'string';

/**
 * Data types of OutputFields without a dataType attribute, by feature (any other feature: double), one
 * entry a line: an edge package keeps the features of its document's OutputFields that declare none.
 */
const DEFAULT_TYPES: Readonly<Record<string, (el: XmlElement, env: OutputEnv) => DataType>> = {
  predictedValue: predictedType,
  predictedDisplayValue: text,
  entityId: text,
  clusterId: text,
  reasonCode: text,
  ruleValue: text,
  antecedent: text,
  consequent: text,
  rule: text,
  warning: text,
  transformedValue: expressionType,
  decision: expressionType,
};

function defaultDataType(feature: string, el: XmlElement, env: OutputEnv): DataType {
  const type = Object.hasOwn(DEFAULT_TYPES, feature) ? DEFAULT_TYPES[feature] : undefined;
  return type ? type(el, env) : 'double';
}

function getter(el: XmlElement, env: OutputEnv): OutputGetter {
  // A MiningModel's OutputFields may read one segment's result (selectAll, modelChain).
  return attr(el, 'segmentId') !== undefined || env.kernel.segmentResults ? segmentGetter(el, env, predictionGetter) : predictionGetter(el, env);
}

/** The getter of a feature of the model's own prediction. */
export function predictionGetter(el: XmlElement, env: OutputEnv): OutputGetter {
  const own = env.kernel.resolveOutput?.(el);
  if (own) return own;
  const feature = attr(el, 'feature') ?? 'predictedValue';
  rankOf(el); // a rank that is not a number is refused whatever the feature
  const make = Object.hasOwn(FEATURES, feature) ? FEATURES[feature] : undefined;
  return make ? make(el, env, feature) : env.ctx.unsupported(el, `OutputField feature="${feature}" is not supported`);
}

/** A getter for the OutputField's feature; the third argument is the feature's name. */
type FeatureGetter = (el: XmlElement, env: OutputEnv, feature: string) => OutputGetter;

const predictedValue: FeatureGetter = (el, env) => {
  const targetField = attr(el, 'targetField');
  return (p) => targetValue(p, targetField, env);
};

const predictedDisplayValue: FeatureGetter = (el, env) => {
  // A target Value's displayValue in the DataDictionary, when Targets gives none.
  const targetField = attr(el, 'targetField');
  const info = env.scope.field(targetField ?? env.targets[0]?.name ?? '');
  const displays = info && 'displayValues' in info ? (info as { displayValues: ReadonlyMap<string, string> }).displayValues : undefined;
  const declaredDisplay = (v: Value): string | undefined => displays?.get(valueKey(v));
  return (p) => {
    if (p.displayValue !== undefined) return p.displayValue;
    const v = targetValue(p, targetField, env);
    if (v === null) return null;
    return env.targetsInfo?.displayValue(v) ?? declaredDisplay(v) ?? (typeof v === 'string' ? v : String(v));
  };
};

const probability: FeatureGetter = (el, env) => {
  const targetField = attr(el, 'targetField');
  const valueText = attr(el, 'value');
  return (p) => {
    const category = valueText ?? targetValue(p, targetField, env);
    if (!p.probabilities) return null;
    return byCategory(p.probabilities, category) ?? (category === null ? null : 0);
  };
};

const confidence: FeatureGetter = (el, env) => {
  const targetField = attr(el, 'targetField');
  const valueText = attr(el, 'value');
  return (p) => {
    const category = valueText ?? targetValue(p, targetField, env);
    return byCategory(p.confidences, category) ?? byCategory(p.probabilities, category) ?? null;
  };
};

const rankOf = (el: XmlElement): number => (attr(el, 'rank') === undefined ? 1 : numberAttr(el, 'rank'));

const affinity: FeatureGetter = (el) => {
  const valueText = attr(el, 'value');
  const rank = rankOf(el);
  return (p) => {
    if (valueText !== undefined) return byCategory(p.affinities, valueText) ?? null;
    const e = p.entities?.[rank - 1];
    if (e) return e.affinity;
    const id = p.entityId ?? (p.value === null ? undefined : String(p.value));
    return byCategory(p.affinities, id ?? null) ?? null;
  };
};

const entityId: FeatureGetter = (el) => {
  const rank = rankOf(el);
  return (p) => (rank > 1 || (p.entityId === undefined && p.entities) ? p.entities?.[rank - 1]?.id ?? null : p.entityId ?? null);
};

const reasonCode: FeatureGetter = (el) => {
  const rank = rankOf(el);
  return (p) => p.reasonCodes?.[rank - 1] ?? null;
};

const transformedValue: FeatureGetter = (el, env) => {
  const e = expressionChild(el);
  if (!e) {
    // Without an expression: the segment's or model's value passed on.
    const targetField = attr(el, 'targetField');
    return (p) => targetValue(p, targetField, env);
  }
  const expr = compileExpression(e, env.scope);
  return (_p, row) => expr(row);
};

/** A value the kernel put in `Prediction.extra` under the feature's name. */
const extra: FeatureGetter = (_el, _env, feature) => (p) => p.extra?.get(feature) ?? null;

/**
 * Getters by OutputField feature, one entry a line: an edge package's bundle keeps only the
 * features its document's OutputFields name (src/edge/bundle.ts).
 */
const FEATURES: Readonly<Record<string, FeatureGetter>> = {
  predictedValue: predictedValue,
  predictedDisplayValue: predictedDisplayValue,
  probability: probability,
  confidence: confidence,
  affinity: affinity,
  entityAffinity: affinity,
  clusterAffinity: affinity,
  entityId: entityId,
  clusterId: () => (p) => p.extra?.get('clusterId') ?? p.entityId ?? p.value,
  reasonCode: reasonCode,
  transformedValue: transformedValue,
  decision: transformedValue,
  standardError: extra,
  standardDeviation: extra,
  residual: extra,
  warning: extra,
  segmentId: extra,
  ruleValue: extra,
  antecedent: extra,
  consequent: extra,
  rule: extra,
  ruleId: extra,
};

/** Compile an Output element (or none). */
export function compileOutput(el: XmlElement | undefined, env: OutputEnv): OutputPlan {
  const fields: OutputFieldPlan[] = [];
  for (const of of el ? children(el, 'OutputField') : []) {
    const feature = attr(of, 'feature') ?? 'predictedValue';
    const dataType = (attr(of, 'dataType') ?? defaultDataType(feature, of, env)) as DataType;
    const opType = (attr(of, 'optype') ?? (isNumeric(dataType) ? 'continuous' : 'categorical')) as OpType;
    const info: FieldInfo = { name: need(of, 'name'), dataType, opType, values: [] };
    // Fields are visible to later fields' expressions (and to later segments of a chain).
    env.scope.add(info);
    const get = getter(of, env);
    fields.push({ info, final: attr(of, 'isFinalResult') !== 'false', get });
  }
  // A float OutputField keeps the double it was computed as: output tensors are float64, and
  // rounding to float32 would only lose digits the model computed.
  const typed = fields.map((f) => {
    const dataType = f.info.dataType === 'float' ? 'double' : f.info.dataType;
    return { ...f, cast: (v: Value): Value => (v === null ? null : toType(dataType, v) ?? (isNumeric(dataType) ? null : v)) };
  });
  void valuesEqual;
  return {
    fields,
    evaluate(prediction, row, results) {
      if (typed.length === 0) return;
      const own = new Map<string, Value>();
      const outRow = new ModelRow(row, own, NO_DERIVED);
      for (const f of typed) {
        const v = f.cast(f.get(prediction, outRow));
        own.set(f.info.name, v);
        results.set(f.info.name, v);
      }
    },
  };
}
