import type { ModelSignature } from '../../core/signature.js';
import type { Tensor } from '../../core/tensor.js';
import { ArtifactError } from '../artifact-error.js';
import type { ModelRuntime } from '../model-runtime.js';
import type { AdditiveStructure, LinearStructure, ModelStructure, ReasonPoints } from '../model-structure.js';
import { compileDocument, type CompiledDocument } from './document.js';
import { DocumentScorer, reader } from './document-scorer.js';
import type { LinearKernel, Prediction, Row, ScorecardKernel, Value } from './types.js';
import { valuesEqual } from './values.js';
import { parseXml } from './xml.js';

/**
 * A compiled PMML document as a runtime. Kept apart from the factory (pmml-runtime.ts) so that
 * the XML parser and the model kernels load when a PMML model does, not with the catalog.
 */
export function loadPmmlModel(bytes: Uint8Array, label: string): ModelRuntime {
  return new PmmlModel(loadDocument(bytes), label);
}

/** Parse and compile a document; malformed text or XML, invalid PMML and unsupported elements throw `ArtifactError`s. */
export function loadDocument(bytes: Uint8Array): CompiledDocument {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ArtifactError('the file is not valid UTF-8 text', 'FERRY_E_ARTIFACT_INVALID', {}, { cause: err });
  }
  let root;
  try {
    root = parseXml(text);
  } catch (err) {
    throw new ArtifactError(`the XML does not parse (${err instanceof Error ? err.message : String(err)})`, 'FERRY_E_ARTIFACT_INVALID', {}, { cause: err });
  }
  return compileDocument(root);
}

class PmmlModel implements ModelRuntime {
  readonly format = 'pmml';
  readonly #doc: CompiledDocument;
  readonly #scorer: DocumentScorer;
  readonly #signature: ModelSignature;

  constructor(doc: CompiledDocument, label: string) {
    this.#doc = doc;
    this.#scorer = new DocumentScorer(doc, label);
    this.#signature = this.#scorer.signature;
  }

  signature(): ModelSignature {
    return this.#signature;
  }

  predict(inputs: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    return this.#scorer.predict(inputs, outputs);
  }

  /**
   * The neutral structure explanations read: tree ensembles scored by the batch path, single
   * TreeModels over numeric inputs, Scorecards, and models linear in their numeric inputs
   * (RegressionModel, GeneralRegressionModel covariates).
   */
  structure(): Promise<ModelStructure | undefined> {
    const model = this.#doc.model;
    const batch = model.batch;
    if (model.groups.length > 0) return Promise.resolve(undefined);
    // Explanations read the trees as they are: not when the batch path fills missing inputs first.
    if (batch?.kernel.structure && this.#scorer.batch && !batch.fills) return Promise.resolve(batch.kernel.structure());
    if (model.scorecard) return Promise.resolve(this.#scorecardStructure(model.scorecard));
    if (model.tree) return Promise.resolve(model.tree());
    if (model.linear?.categorical) return Promise.resolve(this.#categoricalStructure(model.linear, model.linear.categorical));
    return Promise.resolve(model.linear ? linearStructure(model.linear) : undefined);
  }

  /**
   * A one-output linear model with categorical predictors as additive parts: wⱼ·xⱼ per numeric field,
   * the matching level's coefficient per categorical field (0 for an unlisted level); a row with a
   * missing field is not scored (NaN), as the model answers missing.
   */
  #categoricalStructure(k: LinearKernel, categorical: NonNullable<LinearKernel['categorical']>): AdditiveStructure {
    const inputs = [...k.fields, ...categorical.map((c) => c.field)];
    const N = k.fields.length;
    const model = this.#doc.model;
    const F = inputs.length;
    return {
      kind: 'additive', numFeature: F, numGroup: 1, inputs, base: k.bias[0]!, link: k.link, reasonDirection: 'increases',
      expected: (means, shares) => Float64Array.from(inputs, (name, j) => {
        if (j < N) return k.weights[j]! * (means(name) ?? 0);
        const share = shares(name);
        let e = 0;
        if (share) for (const level of categorical[j - N]!.levels) e += (share.get(String(level.value)) ?? 0) * level.coefficient;
        return e;
      }),
      parts: (tensors) => {
        const readers = inputs.map((name) => {
          const t = tensors[name];
          return t ? reader(t) : () => null;
        });
        const rows = tensors[inputs[0] ?? '']?.shape[0] ?? 0;
        const values = new Float64Array(rows * F);
        const scores = new Float64Array(rows);
        // The margin as the model computes it (its MiningSchema checks included), before the link.
        const all = new Map<string, (r: number) => Value>();
        for (const spec of this.#signature.inputs) {
          const t = tensors[spec.name];
          if (t) all.set(spec.name, reader(t));
        }
        let current = 0;
        const row: Row = { get: (name) => all.get(name)?.(current) ?? null };
        const scoreOf = (p: Prediction): number => {
          if (typeof p.value !== 'number') return Number.NaN;
          return k.link.kind === 'identity' ? p.value : k.link.kind === 'exp' ? Math.log(p.value) : Number.NaN;
        };
        for (let r = 0; r < rows; r++) {
          current = r;
          let margin = k.bias[0]!;
          for (let j = 0; j < F; j++) {
            const v = readers[j]!(r);
            let part: number;
            if (v === null) part = Number.NaN;
            else if (j < N) part = k.weights[j]! * (typeof v === 'number' ? v : Number(v));
            else part = categorical[j - N]!.levels.find((l) => valuesEqual(v, l.value))?.coefficient ?? 0;
            values[r * F + j] = part;
            margin += part;
          }
          const own = model.score(row).prediction;
          // Classification (logit) answers probabilities: its margin is the one computed here, when the model scored the row.
          const score = k.link.kind === 'sigmoid' ? (own.value === null ? Number.NaN : margin) : scoreOf(own);
          if (Number.isNaN(score)) values.fill(Number.NaN, r * F, (r + 1) * F);
          scores[r] = score;
        }
        return { rows, values, scores, reasons: Array.from({ length: rows }, () => []) };
      },
    };
  }

  /** A Scorecard's parts per input field: each Characteristic's partial score less its baseline, summed per field. */
  #scorecardStructure(k: ScorecardKernel): AdditiveStructure {
    const inputs = [...new Set(k.fields)];
    const slot = Int32Array.from(k.fields, (f) => inputs.indexOf(f));
    const F = inputs.length;
    let base = k.initialScore;
    for (const b of k.baselines) base += b;
    const model = this.#doc.model;
    return {
      kind: 'additive', numFeature: F, numGroup: 1, inputs, base,
      reasonDirection: k.algorithm === 'pointsBelow' ? 'decreases' : 'increases',
      parts: (tensors) => {
        const readers = new Map<string, (r: number) => Value>();
        let rows = 0;
        for (const spec of this.#signature.inputs) {
          const t = tensors[spec.name];
          if (!t) continue;
          readers.set(spec.name, reader(t));
          rows = t.shape[0] ?? 0;
        }
        let current = 0;
        const row: Row = { get: (name) => readers.get(name)?.(current) ?? null };
        const values = new Float64Array(rows * F);
        const scores = new Float64Array(rows);
        const reasons: ReasonPoints[][] = [];
        for (let r = 0; r < rows; r++) {
          current = r;
          const p = model.score(row).prediction;
          const partial = p.partialScores;
          if (typeof p.value !== 'number' || !partial) {
            values.fill(Number.NaN, r * F, (r + 1) * F);
            scores[r] = Number.NaN;
            reasons.push([]);
            continue;
          }
          for (let c = 0; c < slot.length; c++) { const at = r * F + slot[c]!; values[at] = values[at]! + partial[c]! - k.baselines[c]!; }
          scores[r] = p.value;
          reasons.push((p.reasonCodes ?? []).map((code, i) => ({ code, points: p.reasonPoints?.[i] ?? Number.NaN })));
        }
        return { rows, values, scores, reasons };
      },
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}


/** A linear kernel as the neutral structure; a row with a missing field has no margin (the model gives no score). */
function linearStructure(k: LinearKernel): LinearStructure {
  const F = k.fields.length;
  const G = k.groups;
  return {
    kind: 'linear', numFeature: F, numGroup: G, inputs: k.fields, weights: k.weights, bias: k.bias, link: k.link, missingAs: 'mean',
    margins(x, rows) {
      const out = new Float64Array(rows * G);
      for (let r = 0; r < rows; r++) {
        for (let g = 0; g < G; g++) {
          let m = k.bias[g]!;
          for (let j = 0; j < F; j++) m += k.weights[j * G + g]! * x[r * F + j]!;
          out[r * G + g] = m;
        }
      }
      return out;
    },
  };
}
