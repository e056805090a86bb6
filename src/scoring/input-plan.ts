import { ferry, quoteList } from '../core/errors.js';
import type { Frame } from '../core/frame.js';
import { describeShape, rowWidth, type ModelSignature, type TensorSpec } from '../core/signature.js';

/** Where one model input takes its values from in a Frame. */
export type InputSource =
  /** k columns, one element each, in element order. */
  | { readonly kind: 'columns'; readonly columns: readonly string[] }
  /** One column whose cells hold the whole row of the input (a scalar or a nested array). */
  | { readonly kind: 'cell'; readonly column: string };

export interface InputBinding {
  readonly spec: TensorSpec;
  readonly source: InputSource;
  /** Elements per row, when the shape fixes it. */
  readonly width: number | undefined;
}

/** How a Frame's columns fill a model's inputs. Computed once per batch shape. */
export interface InputPlan {
  readonly bindings: readonly InputBinding[];
  /** Columns present but used by no input (ids, labels…): ignored unless `strictColumns`. */
  readonly unused: readonly string[];
}

export interface PlanOptions {
  /** Column mapping given now (overrides the one saved at registration). */
  readonly inputColumns?: Readonly<Record<string, readonly string[]>>;
  /** Columns carried along but never fed to the model (keys, passthrough). */
  readonly ignore?: readonly string[];
  /**
   * Refuse columns the model does not use (FERRY_E_COLUMN_UNEXPECTED). Off by default: data sets
   * carry ids, labels and other columns, and MLflow and JPMML ignore them too.
   */
  readonly strictColumns?: boolean;
}

/**
 * Decide which columns fill which input, or say exactly why they cannot: a missing column,
 * an unexpected one, a wrong count, or several inputs with no mapping.
 */
export function planInputs(signature: ModelSignature, frame: Frame, options: PlanOptions = {}): InputPlan {
  const ignore = new Set(options.ignore ?? []);
  const present = frame.columns;
  const presentSet = new Set(present);
  for (const name of ignore) {
    if (!presentSet.has(name)) throw ferry('FERRY_E_COLUMN_MISSING', { input: '--key/--passthrough', columns: quoteList([name]), present: quoteList(present) });
  }
  const features = present.filter((c) => !ignore.has(c));
  const inputs = signature.inputs;
  for (const name of Object.keys(options.inputColumns ?? {})) {
    if (!inputs.some((i) => i.name === name)) {
      throw ferry('FERRY_E_INPUT_MAPPING_INVALID', { detail: `the model has no input "${name}"; its inputs are ${quoteList(inputs.map((i) => i.name))}` });
    }
  }

  const bindings = inputs.map((spec): InputBinding => {
    const width = rowWidth(spec);
    const mapped = options.inputColumns?.[spec.name] ?? spec.columns;
    // A mapping of exactly the input's own name is a whole-row cell: `3` and `[3]` both fit it.
    if (mapped?.length === 1 && mapped[0] === spec.name && presentSet.has(spec.name)) return { spec, source: { kind: 'cell', column: spec.name }, width };
    if (mapped) {
      const missing = mapped.filter((c) => !presentSet.has(c));
      // A row may also give the whole input under the input's own name.
      if (missing.length > 0 && presentSet.has(spec.name)) return { spec, source: { kind: 'cell', column: spec.name }, width };
      if (missing.length > 0) throw ferry('FERRY_E_COLUMN_MISSING', { input: spec.name, columns: quoteList(missing), present: quoteList(present) });
      if (width !== undefined && width !== mapped.length) throw shapeError(spec, width, `${mapped.length} mapped column(s)`);
      return { spec, source: { kind: 'columns', columns: mapped }, width };
    }
    if (presentSet.has(spec.name)) return { spec, source: { kind: 'cell', column: spec.name }, width };
    if (inputs.length === 1) {
      if (features.length === 0) throw ferry('FERRY_E_COLUMN_MISSING', { input: spec.name, columns: `${width ?? 'some'} feature column(s)`, present: quoteList(present) });
      if (width !== undefined && width !== features.length) throw shapeError(spec, width, `${features.length} column(s): ${quoteList(features, 6)}`);
      return { spec, source: { kind: 'columns', columns: features }, width };
    }
    throw ferry('FERRY_E_INPUT_MAPPING_REQUIRED', { inputs: quoteList(inputs.map((i) => i.name)) });
  });

  const used = new Set(bindings.flatMap((b) => (b.source.kind === 'columns' ? b.source.columns : [b.source.column])));
  const unexpected = features.filter((c) => !used.has(c));
  if (unexpected.length > 0 && options.strictColumns === true) {
    throw ferry('FERRY_E_COLUMN_UNEXPECTED', { columns: quoteList(unexpected), expected: quoteList([...used]) });
  }
  return { bindings, unused: unexpected };
}

function shapeError(spec: TensorSpec, width: number, actual: string) {
  return ferry('FERRY_E_TENSOR_SHAPE', {
    input: spec.name,
    expected: `${width} value(s) per row (shape ${describeShape(spec.shape)})`,
    actual,
  });
}
