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
  const bindings = new Map<string, { at: number; service: string | undefined }>();
  const serviceOf = async (key: string, model: string, version: number): Promise<string | undefined> => {
    const service = await registry.binding(model, version);
    bindings.set(key, { at: Date.now(), service });
    return service;
  };
  // Per request on the serving path: a cached binding and the opened store are read without awaiting.
  let opened: FeatureLookups | undefined;
  return {
    at: 'input',
    name: 'features',
    async prepare(context: InputStageContext): Promise<PipelineInput> {
      const { version } = context.model;
      const key = `${version.model}:${version.version}`;
      const hit = bindings.get(key);
      const service = hit && Date.now() - hit.at < ttl ? hit.service : await serviceOf(key, version.model, version.version);
      if (service === undefined) return context.input;
      const lookup = opened ?? (opened = await lookups());
      const input = context.input;
      if (input.kind === 'frame') {
        const filled = await lookup.fill(service, input.frame);
        options.observer?.filled?.(service, version.model, input.frame.length, filled);
        const ignore = [...new Set([...(input.plan?.ignore ?? []), ...filled.keys.filter((k) => filled.frame.columns.includes(k) && !isModelColumn(context, k))])];
        return { ...input, frame: filled.frame, plan: { ...input.plan, ignore }, refused: [...(input.refused ?? []), ...filled.rejects] };
      }
      // Named tensors (Open Inference Protocol, gRPC): one column per tensor, filled, packed back.
      const frame = tensorFrame(input.tensors);
      const filled = await lookup.fill(service, frame);
      options.observer?.filled?.(service, version.model, frame.length, filled);
      const first = filled.rejects[0];
      if (first) throw first.error;
      const plan = planInputs(version.signature, filled.frame, { ignore: filled.keys.filter((k) => filled.frame.columns.includes(k) && !isModelColumn(context, k)) });
      const checked = validateRows(plan, filled.frame);
      const bad = checked.rejects[0];
      if (bad) throw bad.error;
      return { kind: 'tensors', tensors: packTensors(plan, checked.values, checked.valid, filled.frame.length) };
    },
  };
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
