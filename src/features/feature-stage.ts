import { ColumnFrame, type Cell, type Frame } from '../core/frame.js';
import type { Tensor } from '../core/tensor.js';
import { planInputs } from '../scoring/input-plan.js';
import type { InputStage, InputStageContext, PipelineInput } from '../scoring/pipeline-hooks.js';
import { packTensors, validateRows } from '../scoring/tensorize.js';
import type { FeatureRegistry } from './feature-registry.js';
import type { FeatureLookups, FilledFrame } from './lookup.js';

/** What the stage reports about each filled run (freshness and null-rate monitoring). */
export interface FeatureStageObserver {
  filled?(service: string, model: string, rows: number, filled: FilledFrame): void;
}

export interface FeatureStageOptions {
  /** How long a version's binding is trusted before the registry is asked again (ms). */
  readonly bindingTtlMs?: number | undefined;
  readonly observer?: FeatureStageObserver | undefined;
}

/**
 * The feature layer as a pipeline step: for a model version bound to a feature service
 * (`ferry register … --features <service>`), fill the model's inputs from the entity keys of
 * each row, before validation — so REST (every protocol), gRPC, batch and streams all get the
 * same values. Unbound versions pass through untouched. The online store is opened on the
 * first bound run (`lookups`).
 */
export function featureStage(registry: FeatureRegistry, lookups: () => Promise<FeatureLookups>, options: FeatureStageOptions = {}): InputStage {
  const ttl = options.bindingTtlMs ?? 30_000;
  /** Per model and version: its service, and which entity key columns are not model inputs (carried, never fed). */
  const bindings = new Map<string, Map<number, Binding>>();
  const serviceOf = async (model: string, version: number): Promise<Binding> => {
    const service = await registry.binding(model, version);
    const binding: Binding = { at: Date.now(), service, keys: undefined, carried: [] };
    let versions = bindings.get(model);
    if (!versions) bindings.set(model, versions = new Map<number, Binding>());
    versions.set(version, binding);
    return binding;
  };
  // A service's key list is one array for as long as its declarations hold: the carried keys are derived once per list.
  const carriedKeys = (binding: Binding, context: InputStageContext, filled: FilledFrame): readonly string[] => {
    if (binding.keys !== filled.keys) {
      binding.keys = filled.keys;
      binding.carried = filled.keys.filter((k) => !isModelColumn(context, k));
    }
    return binding.carried;
  };
  // Per request on the serving path: a cached binding and the opened store are read without awaiting.
  let opened: FeatureLookups | undefined;
  return {
    at: 'input',
    name: 'features',
    async prepare(context: InputStageContext): Promise<PipelineInput> {
      const { version } = context.model;
      const hit = bindings.get(version.model)?.get(version.version);
      const binding = hit && Date.now() - hit.at < ttl ? hit : await serviceOf(version.model, version.version);
      const service = binding.service;
      if (service === undefined) return context.input;
      const lookup = opened ?? (opened = await lookups());
      const input = context.input;
      if (input.kind === 'frame') {
        const filled = await lookup.fill(service, input.frame);
        options.observer?.filled?.(service, version.model, input.frame.length, filled);
        // Every key column is in the filled frame (fill refuses a frame without one).
        const carried = carriedKeys(binding, context, filled);
        const before = input.plan?.ignore;
        const ignore = before === undefined || before.length === 0 ? carried : [...new Set([...before, ...carried])];
        const refused = input.refused && input.refused.length > 0 ? [...input.refused, ...filled.rejects] : filled.rejects;
        return { kind: 'frame', frame: filled.frame, plan: input.plan ? { ...input.plan, ignore } : { ignore }, refused };
      }
      // Named tensors (Open Inference Protocol, gRPC): one column per tensor, filled, packed back.
      const frame = tensorFrame(input.tensors);
      const filled = await lookup.fill(service, frame);
      options.observer?.filled?.(service, version.model, frame.length, filled);
      const first = filled.rejects[0];
      if (first) throw first.error;
      const plan = planInputs(version.signature, filled.frame, { ignore: carriedKeys(binding, context, filled) });
      const checked = validateRows(plan, filled.frame);
      const bad = checked.rejects[0];
      if (bad) throw bad.error;
      return { kind: 'tensors', tensors: packTensors(plan, checked.values, checked.valid, filled.frame.length) };
    },
  };
}

/** A model version's binding to a feature service, as last read from the registry. */
interface Binding {
  readonly at: number;
  readonly service: string | undefined;
  /** The service's key columns the carried list was derived from. */
  keys: readonly string[] | undefined;
  carried: readonly string[];
}

/** Whether the model itself takes this column (then an entity key is also a feature). */
function isModelColumn(context: InputStageContext, column: string): boolean {
  return context.model.version.signature.inputs.some((i) => i.name === column || i.columns?.includes(column) === true);
}

/** Named tensors as a Frame: a tensor of one element per row is a column; a wider one, a column of per-row arrays. */
function tensorFrame(tensors: Readonly<Record<string, Tensor>>): Frame {
  const data = new Map<string, Cell[]>();
  let rows = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape[0] ?? 1;
    rows = Math.max(rows, n);
    const width = n === 0 ? 0 : t.data.length / n;
    const at = (i: number): Cell => {
      const v = t.data[i];
      return v === undefined ? null : typeof v === 'bigint' || typeof v === 'string' || typeof v === 'number' ? v : null;
    };
    const cells = new Array<Cell>(n);
    for (let r = 0; r < n; r++) cells[r] = width === 1 ? at(r) : Array.from({ length: width }, (_, j) => at(r * width + j));
    data.set(name, cells);
  }
  return ColumnFrame.fromCells(data, rows);
}
