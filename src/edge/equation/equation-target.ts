import { compileModel, type CompiledModel } from '../../runtimes/xgboost/xgboost-model.js';
import { parse as parseXgboost } from '../../runtimes/xgboost/xgboost-loaded.js';
import type { ExportModel, ExportTarget } from '../export-target.js';

const f32 = Math.fround;

function linearModel(model: ExportModel): CompiledModel | undefined {
  if (model.version.format !== 'xgboost') return undefined;
  const m = compileModel(parseXgboost(model.artifact));
  return m.model.type === 'linear' ? m : undefined;
}

/** Shortest decimal that reads back as the same float32. */
function short(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = Number(v.toPrecision(p));
    if (f32(s) === v) return String(s);
  }
  return String(v);
}

const TRANSFORMS: Readonly<Record<CompiledModel['transform'], (m: string) => string>> = {
  identity: (m) => m,
  sigmoid: (m) => `1 / (1 + exp(-${m}))`,
  exp: (m) => `exp(${m})`,
  hinge: (m) => `(${m} > 0 ? 1 : 0)`,
  softmax: (m) => `exp(${m}) / Σₖ exp(margin_k)`,
};

/** The formula of a linear model as text, for people (`--target equation`). */
function equation(model: ExportModel, m: CompiledModel): string {
  if (m.model.type !== 'linear') return '';
  const { weights, bias } = m.model;
  const G = m.numGroup;
  const columns = model.version.signature.inputs[0]?.columns ?? Array.from({ length: m.numFeature }, (_, j) => `x${j}`);
  const v = model.version;
  const lines = [
    `${v.model}:${v.version} — XGBoost gblinear, objective ${m.objective} (artifact ${v.digest})`,
    '',
  ];
  for (let g = 0; g < G; g++) {
    const name = G > 1 ? `margin_${g}` : 'margin';
    const terms = [short(f32(bias[g]! + m.baseMargin))];
    for (let j = 0; j < m.numFeature; j++) {
      const w = weights[j * G + g]!;
      if (w !== 0) terms.push(`${w < 0 ? '- ' : '+ '}${short(Math.abs(w))} × ${columns[j] ?? `x${j}`}`);
    }
    lines.push(`${name} = ${terms.join(' ')}`);
  }
  lines.push('');
  const out = m.kind === 'binary' ? 'probability' : m.kind === 'softprob' || m.kind === 'softmax' ? 'probability_k' : m.kind === 'logitraw' ? 'margin' : 'prediction';
  lines.push(`${out} = ${TRANSFORMS[m.transform](G > 1 ? 'margin_k' : 'margin')}`);
  if (m.kind === 'binary') lines.push('label = probability > 0.5 ? 1 : 0');
  if (G > 1) lines.push('label = the first k with the largest probability_k');
  lines.push('', 'A missing value contributes nothing to a margin. Ferry computes in float32: each product and each sum is rounded to float32.', '');
  return lines.join('\n');
}

/** `--target equation`: a linear model's formula as text. */
export const equationTarget: ExportTarget = {
  name: 'equation',
  output: 'file',
  // Text for people: nothing runs it.
  checked: false,
  refusal: (model) => (linearModel(model) ? undefined : 'the equation target writes linear models (XGBoost gblinear); trees have no closed form — use --target sql for in-database scoring'),
  build(model) {
    const m = linearModel(model);
    return Promise.resolve(m ? [{ path: 'equation.txt', kind: 'text', bytes: new TextEncoder().encode(equation(model, m)) }] : []);
  },
};
