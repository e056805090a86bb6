/**
 * Compiles one model element (top level or segment): MiningSchema treatment, LocalTransformations,
 * the kernel (models/index.ts), Targets and Output, into a `CompiledModel`.
 */
import { compileExpression, compilePredicate, invalid, need, numberAttr, parseFor, unsupported } from './expressions.js';
import { MODEL_ELEMENTS } from './model-elements.js';
import { derivedField, fieldInfo, Scope, type DataFieldDef } from './scope.js';
import { KERNELS } from './models/index.js';
import { compileOutput, type OutputPlan } from './output.js';
import { topBatch } from './batch-plan.js';
import { explainedForms } from './explained-forms.js';
import { exportFormOf } from './export-form.js';
import { EMPTY_ROW, ModelRow } from './row.js';
import { compileTargets } from './targets.js';
import type { BatchKernel, CompileContext, EnsembleLayout, LinearKernel, ScorecardKernel, CompiledModel, DataType, Expr, FieldInfo, ModelKernel, Prediction, Row, ScoredRow, Value } from './types.js';
import { attr, child, children, type XmlElement } from './xml.js';
import type { TreeStructure } from '../model-structure.js';
import { castResult, isNumeric, toType, valueKey } from './values.js';

export interface ModelEnv {
  readonly scope: Scope;
  readonly dataFields: ReadonlyMap<string, DataFieldDef>;
  /** TransformationDictionary derived fields (evaluated on the top-level row). */
  readonly globals: ReadonlyMap<string, Expr>;
  readonly top: boolean;
  readonly version: string;
  /** Fields whose values the enclosing models already made valid (or missing): a segment need not check them again. */
  readonly validated?: ReadonlySet<string>;
}

/** The top-level model, with what the runtime's signature needs. */
export interface TopModel extends CompiledModel {
  /** The kernel's linear form, when the model reads its numeric inputs as they are (no treatment, derivation or Targets). */
  readonly linear?: LinearKernel;
  /** The Scorecard's parts, when its Characteristics read input fields and no Targets rescale the score. */
  readonly scorecard?: ScorecardKernel;
  /**
   * A single tree (TreeModel) over numeric inputs read as they are, as a one-tree ensemble's neutral
   * structure (explanations); its scoring stays the kernel's own.
   */
  readonly tree?: () => TreeStructure | undefined;
  /** Active MiningFields in order, with their DataField info. */
  readonly inputs: readonly FieldInfo[];
  /** MiningFields with usageType="group": input rows with the same values form one transaction. */
  readonly groups: readonly FieldInfo[];
  /** Results in signature order: target fields and final OutputFields (and chained segment outputs). */
  readonly results: readonly FieldInfo[];
  /** The batch path, when the whole model is a batch kernel plus results it can read directly. */
  readonly batch?: TopBatch;
  /** The model as arrays for exports that re-express it (SQL), or why it cannot be (see ExportForm). */
  readonly exportForm: () => ExportForm | string;
}

/**
 * A model in a form an export can write in another language, with the same decisions as the
 * kernels: a tree or tree ensemble as one ensemble layout, or a model linear in its numeric
 * inputs; each result's source (predicted value or a category's probability); the MiningSchema's
 * numeric missing-value replacements (the only treatment allowed).
 */
export type ExportForm =
  | { readonly kind: 'ensemble'; readonly layout: EnsembleLayout; readonly plan: ResultPlan; readonly fills: ReadonlyMap<string, number> }
  | { readonly kind: 'linear'; readonly linear: LinearKernel; readonly categories: readonly string[]; readonly plan: ResultPlan; readonly fills: ReadonlyMap<string, number> };

/** Every result field by name, and the predicted categories' values as the general path gives them. */
export interface ResultPlan {
  readonly results: ReadonlyMap<string, BatchResult>;
  readonly categoryValues: readonly Value[];
}

/** How a result reads the batch kernel's arrays: the predicted value, or one category's probability column. */
export type BatchResult = { readonly kind: 'value' } | { readonly kind: 'probability'; readonly index: number };

export interface TopBatch {
  readonly kernel: BatchKernel;
  /** Every result field by name. */
  readonly results: ReadonlyMap<string, BatchResult>;
  /** Classification: each category's value as the general path returns it (typed, cast to the target's data type). */
  readonly categoryValues: readonly Value[];
  /**
   * Per kernel field (`kernel.fields` order): the MiningField's numeric missingValueReplacement that
   * a missing (NaN) value takes before the walk, as the row path's treatment does; NaN for none.
   * Absent when no field has one.
   */
  readonly fills?: Float64Array;
}

/** What a MiningSchema does to one input value. */
interface MiningFieldPlan {
  readonly name: string;
  readonly usage: string;
  readonly treat: (raw: Value) => Value | typeof INVALID;
  readonly identity: boolean;
  /** After treatment the value is valid or missing (invalid values were refused or made missing). */
  readonly validates: boolean;
  /** Input values (float64 or text tensors) already have the field's type: no conversion needed. */
  readonly typed: boolean;
  /** When the field's one treatment is a numeric missingValueReplacement: that number (exports write it as COALESCE). */
  readonly fill?: number;
}

const INVALID = Symbol('invalid');

/**
 * Outlier treatments (a number below lowValue or above highValue), one entry a line: an exported
 * package keeps those its MiningFields name (src/edge/narrowing.ts).
 */
const OUTLIERS: Readonly<Record<string, (low: number | undefined, high: number | undefined) => ((v: number) => Value) | undefined>> = {
  asIs: () => undefined,
  asMissingValues: (low, high) => (v) => ((low !== undefined && v < low) || (high !== undefined && v > high) ? null : v),
  asExtremeValues: (low, high) => (v) => (low !== undefined && v < low ? low : high !== undefined && v > high ? high : v),
};

const NO_DERIVED: ReadonlyMap<string, Expr> = new Map<string, Expr>();

function miningField(el: XmlElement, env: ModelEnv, scope: Scope): MiningFieldPlan {
  const name = need(el, 'name');
  const usage = attr(el, 'usageType') ?? 'active';
  if (!['active', 'target', 'predicted', 'supplementary', 'group', 'order', 'frequencyWeight', 'analysisWeight'].includes(usage)) {
    invalid(el, `usageType="${usage}" is not a PMML usage type`);
  }
  const def = env.dataFields.get(name);
  const info = scope.field(name);
  const dataType: DataType | undefined = def?.dataType ?? info?.dataType;
  const opType = attr(el, 'optype') ?? def?.opType ?? info?.opType;
  const invalidTreatment = attr(el, 'invalidValueTreatment') ?? 'returnInvalid';
  if (!['returnInvalid', 'asIs', 'asMissing', 'asValue'].includes(invalidTreatment)) invalid(el, `invalidValueTreatment="${invalidTreatment}" is not supported`);
  const missingTreatment = attr(el, 'missingValueTreatment');
  const outliers = attr(el, 'outliers') ?? 'asIs';
  const outlierTreatment = Object.hasOwn(OUTLIERS, outliers) ? OUTLIERS[outliers]! : invalid(el, `outliers="${outliers}" is not supported`);
  const low = attr(el, 'lowValue') === undefined ? undefined : numberAttr(el, 'lowValue');
  const high = attr(el, 'highValue') === undefined ? undefined : numberAttr(el, 'highValue');
  const clip = outlierTreatment(low, high);
  const parse = (text: string | undefined): Value | undefined => (text === undefined ? undefined : dataType ? toType(dataType, text) ?? text : parseFor(scope, name, text));
  const replacement = parse(attr(el, 'missingValueReplacement'));
  const invalidReplacement = parse(attr(el, 'invalidValueReplacement'));
  const checkValidity = def !== undefined && invalidTreatment !== 'asIs';
  const categorical = opType === 'categorical' || opType === 'ordinal';
  const isValid = (v: Value): boolean => {
    if (!def) return true;
    if (typeof v === 'number' && Number.isNaN(v)) return false;
    if (def.invalidValues.size > 0 && def.invalidValues.has(valueKey(v))) return false;
    if (categorical) return def.valid.size === 0 || def.valid.has(valueKey(v));
    if (def.intervals.length > 0 && typeof v === 'number') return def.intervals.some((t) => t(v));
    if (def.valid.size > 0 && !isNumeric(def.dataType)) return def.valid.has(valueKey(v));
    return true;
  };
  const returnInvalidOnMissing = missingTreatment === 'returnInvalid';
  // Nothing to check when no value can be invalid (no declared values or intervals) or when an enclosing model already checked.
  const trivialValidity = def === undefined || (def.invalidValues.size === 0 && (categorical ? def.valid.size === 0 : def.intervals.length === 0 && (def.valid.size === 0 || isNumeric(def.dataType))));
  const validated = env.validated?.has(name) === true && (invalidTreatment === 'returnInvalid' || invalidTreatment === 'asMissing');
  const identity = replacement === undefined && !returnInvalidOnMissing && (!checkValidity || trivialValidity || validated) && outliers === 'asIs' && (def?.missingValues.size ?? 0) === 0;
  const validates = invalidTreatment === 'returnInvalid' || invalidTreatment === 'asMissing';
  const isDouble = dataType === 'double';
  const treat = (raw: Value): Value | typeof INVALID => {
    let v: Value = raw;
    if (v !== null && dataType && !(typeof v === 'number' && isDouble)) {
      const c = toType(dataType, v);
      if (c === undefined) {
        // Not even of the right type: an invalid value.
        if (invalidTreatment === 'returnInvalid') return INVALID;
        v = invalidTreatment === 'asMissing' ? null : invalidTreatment === 'asValue' ? invalidReplacement ?? null : v;
      } else v = c;
    }
    if (v !== null && def && def.missingValues.size > 0 && def.missingValues.has(valueKey(v))) v = null;
    if (v !== null && checkValidity && !isValid(v)) {
      if (invalidTreatment === 'returnInvalid') return INVALID;
      v = invalidTreatment === 'asMissing' ? null : invalidReplacement ?? null;
    }
    if (v !== null && typeof v === 'number' && clip) v = clip(v);
    if (v === null) {
      if (replacement !== undefined) return replacement;
      if (returnInvalidOnMissing) return INVALID;
    }
    return v;
  };
  const typed = dataType === undefined || dataType === 'double' || !isNumeric(dataType);
  const fillOnly = typeof replacement === 'number' && !returnInvalidOnMissing && (!checkValidity || trivialValidity || validated) && outliers === 'asIs' && (def?.missingValues.size ?? 0) === 0;
  return { name, usage, treat, identity, validates, typed, ...(fillOnly ? { fill: replacement } : {}) };
}

/** Compile a model element in an environment. */
export function compileModel(el: XmlElement, env: ModelEnv): CompiledModel {
  const functionName = need(el, 'functionName');
  const compiler = KERNELS[el.name];
  if (!compiler) unsupported(el, MODEL_ELEMENTS.has(el.name) ? `<${el.name}> models are not supported by this evaluator` : `<${el.name}> is not a PMML model element`);
  if (attr(el, 'isScorable') === 'false') unsupported(el, `<${el.name}> is marked isScorable="false"`);
  const scope = new Scope(env.scope);
  const ms = child(el, 'MiningSchema');
  if (!ms) invalid(el, 'the model has no MiningSchema');
  const fields = children(ms, 'MiningField').map((f) => miningField(f, env, scope));
  const fieldInfoOf = (name: string): FieldInfo => scope.field(name) ?? { name, dataType: 'double', opType: 'continuous', values: [] };
  const activeFields = fields.filter((f) => f.usage === 'active').map((f) => fieldInfoOf(f.name));
  const targetFields = fields.filter((f) => f.usage === 'target' || f.usage === 'predicted').map((f) => fieldInfoOf(f.name));
  const treated = fields.filter((f) => f.usage === 'active' || f.usage === 'supplementary' || f.usage === 'group' || f.usage === 'order');
  const targetNames = targetFields.map((t) => t.name);

  // LocalTransformations (and, for the top-level model, the TransformationDictionary's fields).
  const derived = new Map<string, Expr>(env.top ? env.globals : []);
  const lt = child(el, 'LocalTransformations');
  if (lt) {
    const dfs = children(lt, 'DerivedField');
    for (const df of dfs) scope.add(fieldInfo(df));
    for (const df of dfs) derived.set(need(df, 'name'), derivedField(df, scope));
  }
  if (child(el, 'ModelVerification')) {
    // Verification records are documentation for the producer's checks; scoring ignores them.
  }

  const targetsEl = child(el, 'Targets');
  const targets = targetsEl ? compileTargets(targetsEl, scope) : undefined;

  const ctx: CompileContext = {
    field: (name) => scope.field(name),
    target: targetFields[0],
    targets: targetFields,
    activeFields,
    expression: (e) => compileExpression(e, scope),
    predicate: (e) => compilePredicate(e, scope),
    parse: (name, text) => parseFor(scope, name, text),
    row: (values) => new ModelRow(EMPTY_ROW, new Map(values), derived),
    model: (m, visible) => {
      const segScope = new Scope(scope);
      for (const f of visible ?? []) segScope.add(f);
      const validated = new Set([...(env.validated ?? []), ...treated.filter((f) => f.validates).map((f) => f.name)]);
      return compileModel(m, { ...env, scope: segScope, top: false, validated });
    },
    unsupported: (e, what) => unsupported(e, what),
    invalid: (e, detail) => invalid(e, detail),
  };
  const kernel: ModelKernel = compiler(el, ctx);

  const outputEl = child(el, 'Output');
  const output: OutputPlan = compileOutput(outputEl, { scope, ctx, kernel, targets: targetFields, targetsInfo: targets, functionName });
  if (kernel.segmentResults && !kernel.segmentResults.whole && !(outputEl && children(outputEl, 'OutputField').some((f) => attr(f, 'segmentId') !== undefined))) {
    // selectAll's own result is the list of every selected segment's value: without an OutputField naming a segment there is no one-value-per-row result.
    unsupported(el, 'multipleModelMethod="selectAll" needs OutputFields with a segmentId (each reads one segment\'s result); this MiningModel has none');
  }

  // A model that reads its inputs as they are needs no row of its own: a segment whose treatment
  // its parent already did, or a top-level model over doubles and text with nothing to treat or derive.
  const passThrough = !lt && treated.every((f) => f.identity) && (!env.top || (derived.size === 0 && treated.every((f) => f.typed)));
  const chained = kernel.exposedFields ?? [];
  const score = (inputs: Row): ScoredRow => {
    let row: Row;
    if (passThrough) row = inputs;
    else {
      const own = new Map<string, Value>();
      for (const f of treated) {
        const v = f.treat(inputs.get(f.name));
        if (v === INVALID) return invalidResult(targetNames, output);
        own.set(f.name, v);
      }
      // An input value for a target must not reach the model.
      if (env.top) for (const t of targetNames) if (!own.has(t)) own.set(t, null);
      row = new ModelRow(inputs, own, derived);
    }
    let prediction: Prediction = kernel.evaluate(row);
    if (targets) prediction = targets.apply(prediction);
    const results = new Map<string, Value>();
    if (prediction.targets && targetNames.length > 1) {
      for (const t of targetNames) results.set(t, prediction.targets.get(t) ?? null);
    } else if (targetNames[0] !== undefined) {
      results.set(targetNames[0], castResult(targetFields[0]!, prediction.value));
    }
    if (prediction.extra) for (const f of chained) results.set(f.name, prediction.extra.get(f.name) ?? null);
    // Output expressions may read what the segments of a chain computed.
    output.evaluate(prediction, prediction.extra && output.fields.length > 0 ? new ModelRow(row, new Map(prediction.extra), NO_DERIVED) : row, results);
    return { prediction, fields: results };
  };

  const results: FieldInfo[] = [];
  const seen = new Set<string>();
  const addResult = (f: FieldInfo): void => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    results.push(f);
  };
  for (const f of output.fields) if (f.final) addResult(f.info);
  for (const t of targetFields) addResult(t);
  for (const f of chained) addResult(f);
  const numericInput = (name: string): boolean => activeFields.some((f) => f.name === name && isNumeric(f.dataType));
  const planned = env.top && !targets && chained.length === 0
    ? topBatch({ lt: lt !== undefined, derives: derived.size > 0, treated, kernel, passThrough, functionName, targetFields, scope, outputEl, output, numericInput })
    : {};
  const explained = env.top && !targets && chained.length === 0
    ? explainedForms({ kernel, lt: lt !== undefined, derives: derived.size > 0, derived, passThrough, activeFields, numericInput })
    : {};
  const exportForm = (): ExportForm | string => exportFormOf({
    el, top: env.top, derives: lt !== undefined || derived.size > 0, treated, targets: targets !== undefined,
    selects: chained.length > 0 || kernel.segmentResults !== undefined, kernel, functionName, targetFields, scope, outputEl, output, numericInput,
  });
  const model: TopModel = {
    exportForm,
    ...(planned.batch ? { batch: planned.batch } : {}),
    ...explained,
    ...(planned.tree ? { tree: planned.tree } : {}),
    functionName,
    score,
    inputs: activeFields,
    groups: fields.filter((f) => f.usage === 'group').map((f) => fieldInfoOf(f.name)),
    results,
    outputs: [...output.fields.map((f) => f.info), ...chained],
    finalOutputs: [...output.fields.filter((f) => f.final).map((f) => f.info), ...chained],
    targets: targetFields,
    ...(passThrough && !targets && output.fields.length === 0 && kernel.numeric ? { numeric: kernel.numeric } : {}),
  };
  return model;
}

function invalidResult(targetNames: readonly string[], output: OutputPlan): ScoredRow {
  const fields = new Map<string, Value>();
  for (const t of targetNames) fields.set(t, null);
  for (const f of output.fields) fields.set(f.info.name, null);
  return { prediction: { value: null }, fields };
}
