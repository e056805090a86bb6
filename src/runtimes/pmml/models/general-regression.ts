/**
 * GeneralRegressionModel: the PPMatrix turns predictors into a design vector x (factor
 * indicators, covariate powers, their products); the ParamMatrix holds β per target category.
 * modelType regression/generalLinear (η = xβ), generalizedLinear (link function, offset,
 * trials), multinomialLogistic (softmax against the reference category), ordinalMultinomial
 * (cumulative link), CoxRegression (baseline cumulative hazard × exp(β·(x − reference))).
 */
import type { Link } from '../../model-structure.js';
import { normalCdf } from '../functions.js';
import type { CompileContext, KernelCompiler, LinearKernel, ModelKernel, Prediction, Row, Value } from '../types.js';
import { attr, child, children, type XmlElement } from '../xml.js';
import { parseNumber, valueKey, valuesEqual } from '../values.js';
import { pmmlMatrix } from './matrix.js';

type Design = (row: Row) => Float64Array | null;

/** A factor's contrast Matrix: its categories' 1-based positions and the Matrix lookup. */
interface Contrast {
  readonly position: ReadonlyMap<string, number>;
  readonly matrix: (row: number, col: number) => number | undefined;
}

function num(el: XmlElement, name: string, ctx: CompileContext): number | undefined {
  const t = attr(el, name);
  if (t === undefined) return undefined;
  const n = parseNumber(t);
  if (Number.isNaN(n)) ctx.invalid(el, `attribute ${name}="${t}" is not a number`);
  return n;
}

function req(el: XmlElement, name: string, ctx: CompileContext): string {
  return attr(el, name) ?? ctx.invalid(el, `attribute "${name}" is required`);
}

/**
 * Inverse link functions of generalizedLinear models (d: linkParameter), one entry a line: an
 * exported package keeps the links its document names (src/edge/narrowing.ts).
 */
const INVERSE_LINKS: Readonly<Record<string, (d: number) => (eta: number) => number>> = {
  identity: () => (e) => e,
  log: () => Math.exp,
  logit: () => (e) => 1 / (1 + Math.exp(-e)),
  probit: () => normalCdf,
  cloglog: () => (e) => 1 - Math.exp(-Math.exp(e)),
  loglog: () => (e) => Math.exp(-Math.exp(-e)),
  cauchit: () => (e) => 0.5 + Math.atan(e) / Math.PI,
  logc: () => (e) => 1 - Math.exp(e),
  power: (d) => (d === 0 ? Math.exp : (e) => Math.pow(e, 1 / d)),
  oddspower: (d) => (d === 0 ? (e) => 1 / (1 + Math.exp(-e)) : (e) => 1 / (1 + Math.pow(1 + d * e, -1 / d))),
  negbin: (d) => (e) => 1 / (d * (Math.exp(-e) - 1)),
};

/** Inverse cumulative links of ordinalMultinomial models, one entry a line (cut like INVERSE_LINKS). */
const CUMULATIVE_LINKS: Readonly<Record<string, (eta: number) => number>> = {
  logit: (e) => 1 / (1 + Math.exp(-e)),
  probit: normalCdf,
  cloglog: (e) => 1 - Math.exp(-Math.exp(e)),
  loglog: (e) => Math.exp(-Math.exp(-e)),
  cauchit: (e) => 0.5 + Math.atan(e) / Math.PI,
};

function inverseLink(name: string, d: number, el: XmlElement, ctx: CompileContext): (eta: number) => number {
  const link = INVERSE_LINKS[name] ?? ctx.unsupported(el, `linkFunction="${name}" is not supported`);
  return link(d);
}

function cumulativeLink(name: string, el: XmlElement, ctx: CompileContext): (eta: number) => number {
  return CUMULATIVE_LINKS[name] ?? ctx.unsupported(el, `cumulativeLink="${name}" is not supported`);
}

export const generalRegressionModel: KernelCompiler = (el, ctx) => {
  const modelType = req(el, 'modelType', ctx);
  const params = children(child(el, 'ParameterList') ?? el, 'Parameter').map((p) => ({ name: req(p, 'name', ctx), ref: num(p, 'referencePoint', ctx) ?? 0 }));
  const index = new Map(params.map((p, i) => [p.name, i]));
  // Factors; one with a contrast Matrix multiplies its parameters by Matrix[category of the row][category of the PPCell]
  // (rows and columns in the order of its Categories, or of the DataField's values when it has none).
  const factors = new Map<string, Contrast | undefined>(children(child(el, 'FactorList') ?? el, 'Predictor').map((p) => {
    const name = req(p, 'name', ctx);
    const matrixEl = child(p, 'Matrix');
    if (!matrixEl) {
      if (attr(p, 'contrastMatrixType') !== undefined) ctx.unsupported(p, `contrastMatrixType="${attr(p, 'contrastMatrixType')}" without a Matrix: only contrasts given as a Matrix are supported`);
      return [name, undefined];
    }
    const categoriesEl = child(p, 'Categories');
    const texts = categoriesEl
      ? children(categoriesEl, 'Category').map((c) => req(c, 'value', ctx))
      : ctx.field(name)?.values ?? [];
    if (texts.length === 0) ctx.invalid(p, `factor "${name}" has a contrast Matrix but no Categories and its DataField declares no values: the Matrix rows cannot be matched to categories`);
    const position = new Map(texts.map((t, i) => [valueKey(ctx.parse(name, t)), i + 1]));
    const matrix = pmmlMatrix(matrixEl, ctx);
    for (let r = 1; r <= texts.length; r++) if (matrix(r, 1) === undefined) ctx.invalid(matrixEl, `the contrast Matrix of "${name}" has no row ${r} for category "${texts[r - 1]}"`);
    return [name, { position, matrix }];
  }));
  for (const p of children(child(el, 'CovariateList') ?? el, 'Predictor')) req(p, 'name', ctx);

  // Design vector: per parameter, the product of its PPCells (1 when it has none: an intercept).
  const cells = children(child(el, 'PPMatrix') ?? el, 'PPCell').map((c) => {
    const predictor = req(c, 'predictorName', ctx);
    const parameter = req(c, 'parameterName', ctx);
    const i = index.get(parameter) ?? ctx.invalid(c, `parameterName="${parameter}" is not in the ParameterList`);
    if (attr(c, 'targetCategory') !== undefined) ctx.unsupported(c, 'PPCell targetCategory is not supported');
    const text = req(c, 'value', ctx);
    if (factors.has(predictor)) {
      const contrast = factors.get(predictor);
      const level = ctx.parse(predictor, text);
      const column = contrast ? contrast.position.get(valueKey(level)) ?? ctx.invalid(c, `value="${text}" is not a category of the contrast Matrix of "${predictor}"`) : 0;
      if (contrast && contrast.matrix(1, column) === undefined) ctx.invalid(c, `the contrast Matrix of "${predictor}" has no column ${column} for category "${text}"`);
      return { i, predictor, factor: true, level, exponent: 1, contrast, column };
    }
    return { i, predictor, factor: false, level: null as Value, exponent: parseNumber(text), contrast: undefined, column: 0 };
  });
  const k = params.length;
  const design: Design = (row) => {
    const x = new Float64Array(k).fill(1);
    for (const c of cells) {
      const v = row.get(c.predictor);
      if (v === null) return null;
      if (c.contrast) {
        const row = c.contrast.position.get(valueKey(v));
        // A category outside the Matrix has no row: the design, and so the prediction, is missing.
        if (row === undefined) return null;
        x[c.i] = x[c.i]! * c.contrast.matrix(row, c.column)!;
      } else if (c.factor) {
        if (!valuesEqual(v, c.level)) x[c.i] = 0;
      } else {
        const n = typeof v === 'number' ? v : parseNumber(String(v));
        x[c.i] = x[c.i]! * (c.exponent === 1 ? n : Math.pow(n, c.exponent));
      }
    }
    return x;
  };

  // β per target category ('' when a PCell names none).
  const betas = new Map<string, Float64Array>();
  for (const pc of children(child(el, 'ParamMatrix') ?? el, 'PCell')) {
    const category = attr(pc, 'targetCategory') ?? '';
    const parameter = req(pc, 'parameterName', ctx);
    const i = index.get(parameter) ?? ctx.invalid(pc, `parameterName="${parameter}" is not in the ParameterList`);
    let b = betas.get(category);
    if (!b) betas.set(category, (b = new Float64Array(k)));
    b[i] = num(pc, 'beta', ctx) ?? ctx.invalid(pc, 'attribute "beta" is required');
  }
  const dot = (x: Float64Array, b: Float64Array | undefined): number => {
    if (!b) return 0;
    let s = 0;
    for (let i = 0; i < k; i++) s += x[i]! * b[i]!;
    return s;
  };
  const offsetField = attr(el, 'offsetVariable');
  const offsetValue = num(el, 'offsetValue', ctx) ?? 0;
  const offset = (row: Row): number | null => {
    if (offsetField === undefined) return offsetValue;
    const v = row.get(offsetField);
    return v === null ? null : typeof v === 'number' ? v : parseNumber(String(v));
  };
  const target = ctx.target;
  const parseCategory = (text: string): Value => (target ? ctx.parse(target.name, text) : text);

  const compile = MODEL_TYPES[modelType] ?? ctx.unsupported(el, `modelType="${modelType}" is not supported`);
  return compile({ el, ctx, modelType, design, betas, dot, offset, offsetField, offsetValue, cells, k, params, parseCategory });
};

/** What every model type reads: the design vector, β per target category, the offset. */
interface Parts {
  readonly el: XmlElement;
  readonly ctx: CompileContext;
  readonly modelType: string;
  readonly design: Design;
  readonly betas: ReadonlyMap<string, Float64Array>;
  readonly dot: (x: Float64Array, b: Float64Array | undefined) => number;
  readonly offset: (row: Row) => number | null;
  readonly offsetField: string | undefined;
  readonly offsetValue: number;
  readonly cells: readonly Cell[];
  readonly k: number;
  readonly params: readonly { readonly name: string; readonly ref: number }[];
  readonly parseCategory: (text: string) => Value;
}

interface Cell { readonly i: number; readonly predictor: string; readonly factor: boolean; readonly exponent: number }

/**
 * The kernels by modelType, one entry a line: an exported package keeps the model types its
 * document names (src/edge/narrowing.ts).
 */
const MODEL_TYPES: Readonly<Record<string, (p: Parts) => ModelKernel>> = {
  regression: linearModel,
  generalLinear: linearModel,
  generalizedLinear: linearModel,
  multinomialLogistic: multinomialModel,
  ordinalMultinomial: ordinalModel,
  CoxRegression: (p) => cox(p.el, p.ctx, p.design, p.betas.get('') ?? new Float64Array(p.k), Float64Array.from(p.params.map((q) => q.ref))),
};

/** regression, generalLinear (η = xβ) and generalizedLinear (link function, offset, trials); binary classification gives μ as the probability. */
function linearModel({ el, ctx, modelType, design, betas, dot, offset, offsetField, offsetValue, cells, k, parseCategory }: Parts): ModelKernel {
  const target = ctx.target;
  const link = modelType === 'generalizedLinear'
    ? inverseLink(attr(el, 'linkFunction') ?? 'identity', num(el, 'linkParameter', ctx) ?? 1, el, ctx)
    : (e: number) => e;
  const trialsField = attr(el, 'trialsVariable');
  const trialsValue = num(el, 'trialsValue', ctx);
  if (attr(el, 'functionName') === 'classification') {
    // Binary: μ is the probability of the category the PCells name (else the second one).
    const categories = target?.values.length ? target.values : [...betas.keys()].filter((c) => c !== '');
    const named = [...betas.keys()].find((c) => c !== '');
    const b = betas.get(named ?? '');
    const event = named ?? categories[1] ?? categories[0] ?? '';
    const other = categories.find((c) => c !== event) ?? '';
    return {
      evaluate(row): Prediction {
        const x = design(row);
        const o = offset(row);
        if (!x || o === null) return { value: null };
        const mu = link(dot(x, b) + o);
        const probabilities = new Map<string, number>();
        for (const c of categories) probabilities.set(c, c === event ? mu : 1 - mu);
        if (!probabilities.has(event)) probabilities.set(event, mu);
        if (!probabilities.has(other) && other !== '') probabilities.set(other, 1 - mu);
        let best = event;
        let bestP = -Infinity;
        for (const [c, p] of probabilities) if (p > bestP) { bestP = p; best = c; }
        return { value: parseCategory(best), probabilities };
      },
    };
  }
  const b = betas.get('') ?? betas.values().next().value;
  const linkName = modelType === 'generalizedLinear' ? attr(el, 'linkFunction') ?? 'identity' : 'identity';
  const explained: Link | undefined = linkName === 'identity' ? { kind: 'identity' } : linkName === 'log' ? { kind: 'exp' } : linkName === 'logit' ? { kind: 'sigmoid', scale: 1 } : undefined;
  const plain = explained && offsetField === undefined && trialsField === undefined && trialsValue === undefined;
  const linear = plain && b ? linearForm(cells, k, b, offsetValue, explained) : undefined;
  return {
    ...(linear ? { linear } : {}),
    evaluate(row): Prediction {
      const x = design(row);
      const o = offset(row);
      if (!x || o === null) return { value: null };
      let mu = link(dot(x, b) + o);
      if (trialsField !== undefined || trialsValue !== undefined) {
        const t = trialsField === undefined ? trialsValue! : row.get(trialsField);
        if (t === null) return { value: null };
        mu *= typeof t === 'number' ? t : parseNumber(String(t));
      }
      return { value: mu };
    },
  };
}

/** multinomialLogistic: softmax of each category's η against the reference category (η = 0). */
function multinomialModel({ el, ctx, design, betas, dot, offset, parseCategory }: Parts): ModelKernel {
  const target = ctx.target;
  const declared = target?.values.length ? target.values : [...betas.keys()].filter((c) => c !== '');
  const reference = attr(el, 'targetReferenceCategory');
  const categories = reference !== undefined && !declared.includes(reference) ? [...declared, reference] : declared;
  const tables = categories.map((c) => betas.get(c));
  return {
    evaluate(row): Prediction {
      const x = design(row);
      const o = offset(row);
      if (!x || o === null) return { value: null };
      const eta = tables.map((b) => (b ? dot(x, b) + o : 0));
      const max = Math.max(...eta);
      const e = eta.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, v) => a + v, 0);
      const probabilities = new Map<string, number>();
      let best = 0;
      categories.forEach((c, i) => {
        probabilities.set(c, e[i]! / sum);
        if (e[i]! > e[best]!) best = i;
      });
      return { value: parseCategory(categories[best]!), probabilities };
    },
  };
}

/** ordinalMultinomial: cumulative link of each category's threshold plus the shared xβ. */
function ordinalModel({ el, ctx, design, betas, dot, offset, parseCategory }: Parts): ModelKernel {
  const target = ctx.target;
  const categories = target?.values.length ? target.values : [...betas.keys()].filter((c) => c !== '');
  const link = cumulativeLink(attr(el, 'cumulativeLink') ?? 'logit', el, ctx);
  const shared = betas.get('');
  const thresholds = categories.map((c) => betas.get(c));
  return {
    evaluate(row): Prediction {
      const x = design(row);
      const o = offset(row);
      if (!x || o === null) return { value: null };
      const xb = dot(x, shared) + o;
      const probabilities = new Map<string, number>();
      let prev = 0;
      let best = 0;
      let bestP = -Infinity;
      categories.forEach((c, i) => {
        const t = thresholds[i];
        const cum = i === categories.length - 1 || !t ? 1 : link(dot(x, t) + xb);
        const p = cum - prev;
        prev = cum;
        probabilities.set(c, p);
        if (p > bestP) { bestP = p; best = i; }
      });
      return { value: parseCategory(categories[best]!), probabilities };
    },
  };
}

/** Cumulative hazard H(t) = H0(t) · exp(β·(x − reference)), H0 from the (stratum's) baseline table. */
function cox(el: XmlElement, ctx: CompileContext, design: Design, beta: Float64Array, ref: Float64Array) {
  const endTime = req(el, 'endTimeVariable', ctx);
  const strataField = attr(el, 'baselineStrataVariable');
  const tables = child(el, 'BaseCumHazardTables') ?? ctx.invalid(el, 'CoxRegression needs BaseCumHazardTables');
  const table = (e: XmlElement, maxTime: number | undefined) => {
    const cellEls = children(e, 'BaselineCell');
    return {
      times: Float64Array.from(cellEls.map((c) => num(c, 'time', ctx) ?? ctx.invalid(c, 'attribute "time" is required'))),
      hazards: Float64Array.from(cellEls.map((c) => num(c, 'cumHazard', ctx) ?? ctx.invalid(c, 'attribute "cumHazard" is required'))),
      maxTime: maxTime ?? Infinity,
    };
  };
  const strata = new Map<string, ReturnType<typeof table>>();
  for (const s of children(tables, 'BaselineStratum')) strata.set(String(strataField ? ctx.parse(strataField, req(s, 'value', ctx)) : req(s, 'value', ctx)), table(s, num(s, 'maxTime', ctx)));
  const single = strata.size === 0 ? table(tables, num(tables, 'maxTime', ctx)) : undefined;
  const k = beta.length;
  return {
    evaluate(row: Row): Prediction {
      const x = design(row);
      const t = row.get(endTime);
      if (!x || t === null) return { value: null };
      let tab = single;
      if (strataField !== undefined) {
        const s = row.get(strataField);
        if (s === null) return { value: null };
        tab = strata.get(String(s));
      }
      if (!tab) return { value: null };
      const time = typeof t === 'number' ? t : parseNumber(String(t));
      if (time > tab.maxTime) return { value: null };
      let h0 = 0;
      for (let i = 0; i < tab.times.length && tab.times[i]! <= time; i++) h0 = tab.hazards[i]!;
      let r = 0;
      for (let i = 0; i < k; i++) r += beta[i]! * (x[i]! - ref[i]!);
      return { value: h0 * Math.exp(r) };
    },
  };
}

/**
 * η = Σ β·x as a LinearKernel when every parameter is an intercept (no PPCell) or one covariate to the
 * power 1: the weight of a field is the sum of its parameters' β; else undefined (factors, powers, products).
 */
function linearForm(cells: readonly Cell[], k: number, b: Float64Array, offset: number, link: Link): LinearKernel | undefined {
  const perParam = new Array<number>(k).fill(0);
  for (const c of cells) {
    if (c.factor || c.exponent !== 1) return undefined;
    perParam[c.i] = perParam[c.i]! + 1;
  }
  if (perParam.some((n) => n > 1)) return undefined;
  const weight = new Map<string, number>();
  let bias = offset;
  for (let i = 0; i < k; i++) if (perParam[i] === 0) bias += b[i]!;
  for (const c of cells) weight.set(c.predictor, (weight.get(c.predictor) ?? 0) + b[c.i]!);
  const fields = [...weight.keys()];
  return { fields, groups: 1, weights: Float64Array.from(fields, (f) => weight.get(f)!), bias: Float64Array.of(bias), link };
}
