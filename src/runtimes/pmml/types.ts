/**
 * The contract between the PMML evaluator's core (document, fields, MiningSchema,
 * transformations, Targets, Output, segmentation) and the per-model "kernels" under
 * `models/`. A kernel is compiled once from its model element into closures over typed
 * arrays and maps; scoring a row never walks XML.
 *
 * The core wraps every kernel (top level and each segment) in the same way:
 *   row values → MiningSchema (missing/invalid/outlier treatment) → LocalTransformations
 *   → kernel.evaluate(row) → Targets (rescale, cast, priors) → Output fields.
 * A kernel therefore reads already-treated, already-typed field values through `Row.get`.
 */
import type { XmlElement } from './xml.js';
import type { Link, TreeStructure } from '../model-structure.js';
import type { RegressionLayout } from './models/regression-run.js';

/** A field value. `null` is PMML's missing value. Numbers for integer/float/double, strings for string, booleans for boolean. */
export type Value = number | string | boolean | null;

export type DataType = 'string' | 'integer' | 'float' | 'double' | 'boolean' | 'date' | 'time' | 'dateTime'
  | 'dateDaysSince[0]' | 'dateDaysSince[1960]' | 'dateDaysSince[1970]' | 'dateDaysSince[1980]'
  | 'timeSeconds' | 'dateTimeSecondsSince[0]' | 'dateTimeSecondsSince[1960]' | 'dateTimeSecondsSince[1970]' | 'dateTimeSecondsSince[1980]';

export type OpType = 'categorical' | 'ordinal' | 'continuous';

/** What is known about a field at a point of the document (DataDictionary, DerivedField or OutputField). */
export interface FieldInfo {
  readonly name: string;
  readonly dataType: DataType;
  readonly opType: OpType;
  /** Valid values declared for a categorical/ordinal field, in document order (empty when none). */
  readonly values: readonly string[];
}

/** Field lookup during the evaluation of one row. Derived fields are computed on first use and kept for the row. */
export interface Row {
  get(name: string): Value;
  /**
   * Grouped input (a MiningField with usageType="group", e.g. AssociationModel transactions): every value of
   * `name` in the current group, in input order. Optional: when absent, a kernel reads the one value of `get(name)`.
   */
  values?(name: string): readonly Value[];
}

/** A compiled expression (Constant, FieldRef, NormContinuous, Apply, …). */
export type Expr = (row: Row) => Value;

/** One association rule that fired for a transaction (AssociationModel). */
export interface FiredRule {
  readonly id: string;
  readonly antecedent: readonly string[];
  readonly consequent: readonly string[];
  readonly support: number;
  readonly confidence: number;
  readonly lift: number | null;
  readonly leverage: number | null;
  readonly affinity: number | null;
}

/** What a kernel computed for one row (or one transaction). Only `value` is required. */
export interface Prediction {
  /** The predicted value of the model's (first) target: a category for classification, a number for regression, the cluster id for clustering, the score for anomaly detection. `null` when missing. */
  readonly value: Value;
  /** Classification: probability per category (keys are the category's text as declared). */
  readonly probabilities?: ReadonlyMap<string, number>;
  /** Confidence per category where the model defines it separately from probability (RuleSet, TreeModel ScoreDistribution confidence). */
  readonly confidences?: ReadonlyMap<string, number>;
  /** Display value (predictedDisplayValue), e.g. a cluster's name. */
  readonly displayValue?: string;
  /** Entity id of the winning entity (tree node, cluster, rule, nearest neighbour). */
  readonly entityId?: string;
  /** Entities ranked best first, with the affinity used to rank them (KNN neighbours, clusters by distance). Output `rank` n reads index n-1. */
  readonly entities?: readonly { readonly id: string; readonly affinity: number; readonly value?: Value }[];
  /** Affinity per category or cluster id (clustering: the distance/similarity to each cluster). */
  readonly affinities?: ReadonlyMap<string, number>;
  /** Scorecard reason codes, best first. */
  readonly reasonCodes?: readonly string[];
  /** Scorecard: each reason code's points (its reasonCodeAlgorithm difference from the baselines), parallel to `reasonCodes`. */
  readonly reasonPoints?: readonly number[];
  /** Scorecard: the partial score of each Characteristic, in document order. */
  readonly partialScores?: Float64Array;
  /** Multi-target models: every target's value by field name (`value` is the first). */
  readonly targets?: ReadonlyMap<string, Value>;
  /** AssociationModel: the rules that fired. */
  readonly rules?: readonly FiredRule[];
  /** Anything else a kernel's own output features need, by feature name (e.g. `standardError`, `anomaly`). */
  readonly extra?: ReadonlyMap<string, Value>;
  /** MiningModel selectAll and modelChain: each selected segment's result, by Segment id (OutputFields with a `segmentId` read these). */
  readonly segments?: ReadonlyMap<string, ScoredRow>;
}

/** Reads one OutputField's value from a Prediction. */
export type OutputGetter = (prediction: Prediction, row: Row) => Value;

/** A compiled model body. */
export interface ModelKernel {
  evaluate(row: Row): Prediction;
  /**
   * Optional: handle an OutputField this kernel knows better than the core (e.g. AssociationModel's
   * `ruleValue`, `antecedent`, `consequent`; AnomalyDetection's `anomaly`). Return undefined to let the
   * core handle it (predictedValue, predictedDisplayValue, probability, affinity, entityId, clusterId,
   * clusterAffinity, reasonCode, transformedValue, decision, …).
   */
  resolveOutput?(outputField: XmlElement): OutputGetter | undefined;
  /**
   * Optional: fields this kernel computes besides its prediction and exposes as results of the
   * enclosing model (MiningModel modelChain: the segments' OutputFields). Values come in `Prediction.extra`.
   */
  readonly exposedFields?: readonly FieldInfo[];
  /** Optional fast path for ensembles: the prediction from numeric field values (NaN = missing). */
  readonly numeric?: NumericKernel;
  /**
   * Optional: the kernel reports each segment's result in `Prediction.segments` (MiningModel selectAll and
   * modelChain). `ids`: the Segment ids an OutputField's `segmentId` may name. `whole`: the model also has
   * one result of its own (modelChain: the last segment's); without it (selectAll, multi-valued in PMML)
   * an OutputField must read one segment's result.
   */
  readonly segmentResults?: { readonly ids: ReadonlySet<string>; readonly whole: boolean };
  /** Optional batch path (tree ensembles): scores a whole batch from typed arrays, exactly like `evaluate`. */
  readonly batch?: BatchKernel;
  /** Optional: the model as a linear function of numeric fields (explanations), when it is one. */
  readonly linear?: LinearKernel;
  /** Optional: a Scorecard whose Characteristics each read one field (explanations). */
  readonly scorecard?: ScorecardKernel;
}

/**
 * A Scorecard as explanations read it: score = initialScore + Σ partial scores, each Characteristic
 * reading one field, so (partial score − baseline) is that field's exact share of the score.
 */
export interface ScorecardKernel {
  /** Per Characteristic: the field its Attributes test. */
  readonly fields: readonly string[];
  readonly baselines: Float64Array;
  readonly initialScore: number;
  /** How the reason codes rank (pointsBelow: points under the baseline lower the score). */
  readonly algorithm: 'pointsBelow' | 'pointsAbove';
}

/**
 * A kernel that is linear in its numeric fields: margin[g] = bias[g] + Σ_j weights[j · groups + g] · field_j,
 * the prediction link(margin) (RegressionModel NumericPredictors of exponent 1, GeneralRegression covariates).
 */
export interface LinearKernel {
  readonly fields: readonly string[];
  readonly groups: number;
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly link: Link;
  /**
   * CategoricalPredictors (one output only): per field, the coefficient each level adds (a level not
   * listed adds 0; a missing value makes the prediction missing).
   */
  readonly categorical?: readonly { readonly field: string; readonly levels: readonly { readonly value: Value; readonly coefficient: number }[] }[];
}

/**
 * A kernel that reads only numeric fields can score from an array: field i of `fields` is
 * `x[slots[i]]`. Used by MiningModel to read each field once per row for all its segments.
 */
export interface NumericKernel {
  readonly fields: readonly string[];
  evaluate(x: Float64Array, slots: Int32Array): Prediction;
  /** Optional: the index into `outcomes` of the prediction (-1: missing), when there are finitely many. */
  leaf?(x: Float64Array, slots: Int32Array): number;
  readonly outcomes?: readonly Prediction[];
  /** Optional: the tree as one comparison per inner node (see `BinaryTree`); `leaf` walks exactly these arrays. */
  readonly binary?: BinaryTree;
}

/**
 * A tree whose inner nodes all have two children, `x <= t` (or `x < t`) then the complement or True.
 * Node 0 is the root; a node with `left < 0` is a leaf; node indexes are `outcomes` indexes.
 */
export interface BinaryTree {
  /** Index into the kernel's `fields` of the field each inner node compares. */
  readonly slot: Int32Array;
  readonly thr: Float64Array;
  /** 1: the first child is `x < t`; 0: `x <= t`. */
  readonly strict: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** 1: the second child's predicate is True (taken when the value is missing and the mode is none). */
  readonly rightAlways: Uint8Array;
  /** defaultChild per node (-1: none). */
  readonly dflt: Int32Array;
  /** Missing-value strategy: 0 none, 1 lastPrediction, 2 nullPrediction, 3 defaultChild. */
  readonly mode: number;
  readonly returnLast: boolean;
  /** Per node: its recordCount (0 when the document gives none), the cover TreeSHAP weighs children by. */
  readonly cover: Float64Array;
}

/**
 * A whole model scored over a batch from one row-major array (MiningModel of binary trees):
 * no per-row objects. `x` holds `rows × fields.length` values (NaN = missing).
 */
export interface BatchKernel {
  readonly fields: readonly string[];
  /** Classification: the categories, in the order of the probability columns; empty for regression. */
  readonly categories: readonly string[];
  /**
   * Writes `value[r]` (regression: the prediction; classification: the index of the predicted category;
   * NaN: missing) and for classification `probabilities[r * K + k]` (NaN when the row has no probabilities).
   */
  run(x: Float64Array, rows: number, value: Float64Array, probabilities: Float64Array): void;
  /** Optional: the ensemble as a neutral tree structure (explanations), when it has one. */
  structure?(): TreeStructure | undefined;
  /** Optional: the flat arrays `run` walks, for exports that re-express the model (SQL). */
  layout?(): EnsembleLayout;
  /** Optional: a RegressionModel's tables as the arrays `run` reads (models/regression-run.ts), for exported packages. */
  regression?(): RegressionLayout;
}

/**
 * An ensemble of binary trees as the batch kernel holds it (models/ensemble.ts): all trees' nodes in
 * shared arrays, node indexes global. A node with `left < 0` is a leaf; every node has an outcome
 * (`kind` 1: use it, 0: the tree gives no prediction there), read when a walk stops at it.
 */
export interface EnsembleLayout {
  readonly method: string;
  readonly classification: boolean;
  /** Classification by votes (`leafValue` is a category index) rather than by probability vectors. */
  readonly vote: boolean;
  readonly fields: readonly string[];
  readonly categories: readonly string[];
  /** Per tree. */
  readonly root: Int32Array;
  /** Missing-value strategy per tree (TREE_MODES: none, lastPrediction, nullPrediction, defaultChild). */
  readonly mode: Uint8Array;
  readonly returnLast: Uint8Array;
  readonly weight: Float64Array;
  /** Per node: the compared field (index into `fields`), threshold, `x < t` (strict) or `x <= t`. */
  readonly feature: Int32Array;
  readonly thr: Float64Array;
  readonly strict: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** 1: the second child's predicate is True (a missing value goes there under mode none). */
  readonly rightAlways: Uint8Array;
  /** defaultChild (global index, -1 none). */
  readonly dflt: Int32Array;
  readonly kind: Uint8Array;
  /** Regression: the node's value; vote: its category index. */
  readonly leafValue: Float64Array;
  /** Probability vectors: node n's probabilities at `n * categories.length`. */
  readonly leafVector: Float64Array;
}

/** What the core gives a kernel compiler. */
export interface CompileContext {
  /** Fields visible inside this model (DataDictionary, TransformationDictionary, this model's LocalTransformations, and for segments the outputs of earlier segments). */
  field(name: string): FieldInfo | undefined;
  /** This model's target field (MiningField usageType target/predicted; the first when several), if any. */
  readonly target: FieldInfo | undefined;
  /** Every target field of this model, in MiningSchema order. */
  readonly targets: readonly FieldInfo[];
  /** The MiningSchema's active fields, in order. */
  readonly activeFields: readonly FieldInfo[];
  /** Compile an expression element (Constant, FieldRef, NormContinuous, NormDiscrete, Discretize, MapValues, Apply, …). */
  expression(el: XmlElement): Expr;
  /** Compile a predicate element (SimplePredicate, SimpleSetPredicate, CompoundPredicate, True, False) into a three-valued test: true, false or null (unknown). */
  predicate(el: XmlElement): (row: Row) => boolean | null;
  /** Convert attribute text to a value of the named field's data type (e.g. "2" → 2 for a double field). */
  parse(fieldName: string, text: string): Value;
  /**
   * Optional: a Row over the given raw field values that computes this model's derived fields
   * (TransformationDictionary and LocalTransformations) on demand, with no MiningSchema treatment.
   * NearestNeighborModel uses it to transform TrainingInstances (isTransformed="false") at compile time;
   * without it, the kernel evaluates the model's own LocalTransformations itself.
   */
  row?(values: ReadonlyMap<string, Value>): Row;
  /** Compile a nested model element (segments; used by MiningModel). `visible`: extra fields it may read (outputs of earlier segments in a modelChain). */
  model(el: XmlElement, visible?: readonly FieldInfo[]): CompiledModel;
  /** Refuse the document: an element or attribute value this evaluator does not implement. Names the element. */
  unsupported(el: XmlElement, what?: string): never;
  /** Refuse the document: it is not valid PMML (missing attribute, bad number…). */
  invalid(el: XmlElement, detail: string): never;
}

/** Compiles one model element (e.g. `<NeuralNetwork>`) into a kernel. */
export type KernelCompiler = (el: XmlElement, ctx: CompileContext) => ModelKernel;

/** A whole model as the core compiled it: MiningSchema, LocalTransformations, kernel, Targets and Output together. */
export interface CompiledModel {
  readonly functionName: string;
  /** Score one row given raw input values by field name (missing: absent or null). Returns the prediction and the model's output fields by name. */
  score(inputs: Row): ScoredRow;
  /** The model's OutputFields (and fields its kernel exposes), as later segments of a modelChain see them. */
  readonly outputs?: readonly FieldInfo[];
  /** Of those, the final results (isFinalResult is not "false"), which an enclosing modelChain passes on as its own results. */
  readonly finalOutputs?: readonly FieldInfo[];
  /** The model's target fields (MiningSchema usageType target/predicted), in order. */
  readonly targets?: readonly FieldInfo[];
  /** The kernel's numeric fast path, when scoring the model is nothing more than the kernel (no treatment, Targets or Output). */
  readonly numeric?: NumericKernel;
}

export interface ScoredRow {
  readonly prediction: Prediction;
  /** Values of this model's target fields and OutputFields, by field name (missing → null). */
  readonly fields: ReadonlyMap<string, Value>;
}
