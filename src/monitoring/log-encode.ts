import type { Frame } from '../core/frame.js';
import type { ModelSignature, TensorSpec } from '../core/signature.js';
import type { DType } from '../core/dtype.js';
import { BYTES_PER_ELEMENT, type Tensor } from '../core/tensor.js';
import type { ScoredOutputs } from '../scoring/confidence.js';
import type { ScoredTensors } from '../scoring/scorer.js';

/** The inputs of a scored request, as the caller already holds them (no copy is made). */
export type ScoredInputs =
  | { readonly kind: 'tensors'; readonly tensors: Readonly<Record<string, Tensor>> }
  /**
   * A Frame and the indexes of its rows that were scored (rejected rows are not logged); with
   * `scored`, the tensors those rows became: inputs filled from the columns the signature names
   * are then logged packed from them, and only the other columns (keys, passthrough) as cells.
   */
  | { readonly kind: 'frame'; readonly frame: Frame; readonly rows: readonly number[]; readonly scored?: ScoredTensors | undefined };

/** A run's explanation as the pipeline's explain stage computed it (scoring/explanations.ts ExplainedRows). */
export interface ExplainedInputs {
  readonly names: readonly string[];
  readonly attributions: { readonly space: string; readonly groups: number; readonly features: number; readonly values: Float64Array };
}

/**
 * Serialises logged rows to the compact JSON objects stored in `prediction_log.inputs` and
 * `.outputs`. Runs in the background writer, never on the request path.
 *
 * A numeric tensor input is stored packed: `"@input": "float32:<base64 of the row's
 * little-endian bytes>"` — a 30-feature row is 160 characters and costs one base64 encode,
 * where decimal text would cost 30 float-to-string conversions (measured: the largest share
 * of the log's CPU). The reader (prediction-log-store.ts) unpacks it into one key per column using the
 * version's signature. Strings and frame cells are JSON; outputs are JSON (NaN/±Infinity →
 * null, int64 → number).
 */
export class RowEncoder {
  readonly #inputs: readonly InputPlan[];
  readonly #byName: ReadonlyMap<string, InputPlan>;
  #lastFrame: { readonly inputs: ScoredInputs; readonly plan: FramePlan } | undefined;

  readonly #signature: ModelSignature;
  #lastLayout: RawLayout | undefined;

  constructor(signature: ModelSignature) {
    this.#signature = signature;
    this.#inputs = signature.inputs.map(planInput);
    this.#byName = new Map(this.#inputs.map((p) => [p.name, p]));
  }

  /**
   * The raw layout of an entry whose inputs and outputs are all numeric tensors (the server's
   * requests): which tensors, their element types and widths per row; undefined when a part is a
   * Frame, a string tensor or float16 (those are encoded on the event loop as before). The same
   * object is returned while requests keep the same layout.
   */
  rawLayout(inputs: ScoredInputs, outputs: ScoredOutputs, rows: number): RawLayout | undefined {
    if (inputs.kind !== 'tensors' || outputs.kind !== 'tensors' || rows <= 0) return undefined;
    const last = this.#lastLayout;
    if (last && sameLayout(last, inputs.tensors, outputs.tensors, rows)) return last;
    const ins: RawPart[] = [];
    for (const plan of this.#inputs) {
      const t = inputs.tensors[plan.name];
      if (!t || !isRawType(t)) return undefined;
      const width = plan.width ?? (t.shape.slice(1).reduce((a, b) => a * b, 1));
      if (t.data.length !== width * rows) return undefined;
      ins.push({ name: plan.name, dtype: t.dtype, width });
    }
    const outs: RawPart[] = [];
    for (const name in outputs.tensors) {
      const t = outputs.tensors[name] as Tensor;
      const width = t.data.length / rows;
      if (!isRawType(t) || !Number.isInteger(width) || width < 1) return undefined;
      outs.push({ name, dtype: t.dtype, width });
    }
    const layout: RawLayout = { signature: this.#signature, inputs: ins, outputs: outs, bytes: [...ins, ...outs].reduce((n, p) => n + aligned(p), 0) };
    this.#lastLayout = layout;
    return layout;
  }

  /**
   * Row `r`'s raw bytes into `out` at `o` (a multiple of 8): each input's then each output's
   * elements, every part starting at a multiple of 8. Returns the offset after the row.
   * `views`: typed views of `out`'s whole buffer (`out` starting at its byte 0), for copying small
   * parts without a view per part.
   */
  static copyRaw(layout: RawLayout, inputs: Readonly<Record<string, Tensor>>, outputs: Readonly<Record<string, Tensor>>, r: number, out: Uint8Array, o: number, views?: RawViews): number {
    for (const part of layout.inputs) o = copyPart(part, inputs[part.name] as Tensor, r, out, o, views);
    for (const part of layout.outputs) o = copyPart(part, outputs[part.name] as Tensor, r, out, o, views);
    return o;
  }

  /** Inputs of row `r` as a JSON object. */
  inputs(inputs: ScoredInputs, r: number): string {
    if (inputs.kind === 'frame') {
      const row = inputs.rows[r] ?? r;
      const plan = this.#framePlan(inputs);
      let s = '{';
      for (const c of plan.cells) {
        if (c.values) {
          s += `${s.length > 1 ? ',' : ''}${c.key}${c.valid?.[row] === 0 ? 'null' : json(c.values[row])}`;
          continue;
        }
        const name = c.name;
        const cell = inputs.frame.column(name)?.[row] ?? null;
        // A whole input given under its name (`{"input": [30 values]}`) is logged by column, like tensors.
        const keys = Array.isArray(cell) ? this.#byName.get(name)?.keys : undefined;
        const flat = keys ? (cell as unknown[]).flat(8) : undefined;
        if (keys && flat && flat.length === keys.length) {
          for (let j = 0; j < keys.length; j++) s += (s.length > 1 ? ',' : '') + (keys[j] as string) + json(flat[j]);
        } else {
          s += `${s.length > 1 ? ',' : ''}${c.key}${json(cell)}`;
        }
      }
      for (const p of plan.packed) s = packRow(s, p.plan, p.tensor, r);
      return `${s}}`;
    }
    let s = '{';
    for (const plan of this.#inputs) {
      const t = inputs.tensors[plan.name];
      if (!t) continue;
      const width = plan.width ?? (t.shape.slice(1).reduce((a, b) => a * b, 1));
      const offset = r * width;
      if (t.dtype !== 'string' && typeof t.data[0] !== 'string') {
        s = packRow(s, plan, t, r);
      } else if (plan.keys && plan.keys.length === width) {
        for (let j = 0; j < width; j++) s += (s.length > 1 ? ',' : '') + (plan.keys[j] as string) + element(t, offset + j);
      } else {
        s += (s.length > 1 ? ',' : '') + plan.key;
        if (width === 1) s += element(t, offset);
        else {
          s += '[';
          for (let j = 0; j < width; j++) s += (j > 0 ? ',' : '') + element(t, offset + j);
          s += ']';
        }
      }
    }
    return `${s}}`;
  }

  /**
   * Which of a Frame's columns are logged as cells, and which inputs packed from the scored
   * tensors: an input whose columns are the ones its signature names (the reader names the
   * packed elements after them). Worked out once per logged entry.
   */
  #framePlan(inputs: Extract<ScoredInputs, { kind: 'frame' }>): FramePlan {
    if (this.#lastFrame?.inputs === inputs) return this.#lastFrame.plan;
    const packed: FramePlan['packed'][number][] = [];
    const covered = new Set<string>();
    const scored = inputs.scored;
    for (const plan of scored ? this.#inputs : []) {
      const tensor = scored?.tensors[plan.name];
      const columns = scored?.columns[plan.name];
      if (!tensor || tensor.dtype === 'string' || typeof tensor.data[0] === 'string' || !columns || !sameList(columns, plan.columns)) continue;
      packed.push({ plan, tensor });
      for (const c of columns) covered.add(c);
    }
    const cells = inputs.frame.columns.filter((name) => !covered.has(name)).map((name) => {
      const vector = inputs.frame.vector(name);
      const key = `${JSON.stringify(name)}:`;
      return vector?.kind === 'number' ? { name, key, values: vector.values, valid: vector.valid } : { name, key };
    });
    const plan: FramePlan = { cells, packed };
    this.#lastFrame = { inputs, plan };
    return plan;
  }

  /** Outputs of row `r` as a JSON object (a scalar per row, else a flat array in row-major order). */
  outputs(outputs: ScoredOutputs, r: number, rows: number): string {
    let s = '{';
    if (outputs.kind === 'columns') {
      for (const col of outputs.columns) {
        s += `${s.length > 1 ? ',' : ''}${keyOf(col.name)}`;
        // From the batched tensor when it holds exactly these rows: no per-row value is built.
        const t = col.tensor;
        if (t && t.shape[0] === rows && col.rowShape.length === 0) s += element(t, r);
        else if (t && t.shape[0] === rows && col.rowShape.length === 1) {
          const width = col.rowShape[0] ?? 0;
          s += '[';
          for (let j = 0; j < width; j++) s += (j > 0 ? ',' : '') + element(t, r * width + j);
          s += ']';
        } else s += json(col.values[r] ?? null);
      }
      return `${s}}`;
    }
    for (const name in outputs.tensors) {
      const t = outputs.tensors[name] as Tensor;
      const width = rows > 0 ? t.data.length / rows : 0;
      s += `${s.length > 1 ? ',' : ''}${keyOf(name)}`;
      if (width === 1) s += element(t, r);
      else {
        s += '[';
        for (let j = 0; j < width; j++) s += (j > 0 ? ',' : '') + element(t, r * width + j);
        s += ']';
      }
    }
    return `${s}}`;
  }
}

/**
 * Row `r`'s explanation as `{"space":…,"contributions":{column: value}}` (a list per class for
 * several classes), or '' when the run was not explained.
 */
export function encodeAttributions(e: ExplainedInputs | undefined, r: number): string {
  if (!e) return '';
  const { space, groups: G, features: F, values } = e.attributions;
  let s = `{"space":${JSON.stringify(space)},"contributions":{`;
  for (let j = 0; j < F; j++) {
    s += `${j > 0 ? ',' : ''}${keyOf(e.names[j] ?? String(j))}`;
    if (G === 1) s += json(values[r * F + j]);
    else {
      s += '[';
      for (let g = 0; g < G; g++) s += (g > 0 ? ',' : '') + json(values[(r * G + g) * F + j]);
      s += ']';
    }
  }
  return `${s}}}`;
}

/** How one logged Frame's rows are written (RowEncoder.#framePlan). */
interface FramePlan {
  /** Columns written as cells, in Frame order; a number column straight from its storage. */
  readonly cells: readonly { readonly name: string; readonly key: string; readonly values?: Float64Array; readonly valid?: Uint8Array | undefined }[];
  readonly packed: readonly { readonly plan: InputPlan; readonly tensor: Tensor }[];
}

/** `"@name":"<dtype>:<base64 of row r's elements>"` appended to the object text `s`. */
function packRow(s: string, plan: InputPlan, t: Tensor, r: number): string {
  const width = plan.width ?? (t.shape.slice(1).reduce((a, b) => a * b, 1));
  const data = t.data as Exclude<typeof t.data, readonly string[]>;
  const bytes = data.BYTES_PER_ELEMENT;
  const packed = Buffer.from(data.buffer, data.byteOffset + r * width * bytes, width * bytes).toString('base64');
  return `${s}${s.length > 1 ? ',' : ''}${plan.packedKey}"${t.dtype}:${packed}"`;
}

function sameList(a: readonly string[], b: readonly string[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** One tensor of a raw row: `width` elements of `dtype`. */
export interface RawPart {
  readonly name: string;
  readonly dtype: DType;
  readonly width: number;
}

/** What the writer thread needs to rebuild raw rows of one layout: the signature and the parts, in copy order. */
export interface RawLayout {
  readonly signature: ModelSignature;
  readonly inputs: readonly RawPart[];
  readonly outputs: readonly RawPart[];
  /** Bytes of one row (each part padded to a multiple of 8). */
  readonly bytes: number;
}

/** Typed views of one batch's raw bytes, made once per batch and per element type. */
export class RawViews {
  readonly buffer: ArrayBuffer;
  readonly bytes: Buffer;
  readonly #views = new Map<string, ArrayLike<number | bigint>>();
  constructor(buffer: ArrayBuffer) {
    this.buffer = buffer;
    this.bytes = Buffer.from(buffer);
  }
  /** The whole buffer as elements of `dtype` (parts start at multiples of 8, so every part is aligned). */
  of(dtype: string): ArrayLike<number | bigint> {
    let v = this.#views.get(dtype);
    if (v === undefined) {
      const Ctor = PACKED[dtype] as unknown as { new (b: ArrayBuffer, o: number, n: number): ArrayLike<number | bigint>; BYTES_PER_ELEMENT: number };
      v = new Ctor(this.buffer, 0, Math.floor(this.buffer.byteLength / Ctor.BYTES_PER_ELEMENT));
      this.#views.set(dtype, v);
    }
    return v;
  }
}

/**
 * The stored JSON of one raw layout's rows, straight from the batch's bytes: the same text as
 * `RowEncoder.inputs`/`outputs` give for the tensors the bytes were copied from (a test compares
 * them for every element type),
 * without a Tensor, a record or a view per row. What readers run for every row of a block (log-scan.ts).
 */
export class RawRowText {
  readonly #layout: RawLayout;
  /** `{"@a":"float32:` … `","@b":"int64:` … `"}`: the text around each input's base64. */
  readonly #inputHeads: readonly string[];
  readonly #outputKeys: readonly string[];

  constructor(layout: RawLayout) {
    this.#layout = layout;
    this.#inputHeads = layout.inputs.map((part, i) => `${i === 0 ? '{' : '",'}${JSON.stringify(`@${part.name}`)}:"${part.dtype}:`);
    this.#outputKeys = layout.outputs.map((part, i) => `${i === 0 ? '{' : ','}${keyOf(part.name)}`);
  }

  /** The inputs and outputs JSON of the row at byte offset `o` of `raw`. */
  row(raw: RawViews, o: number): [inputs: string, outputs: string] {
    const layout = this.#layout;
    let inputs = '';
    for (let i = 0; i < layout.inputs.length; i++) {
      const part = layout.inputs[i] as RawPart;
      const bytes = part.width * BYTES_PER_ELEMENT[part.dtype as Exclude<DType, 'string'>];
      inputs += (this.#inputHeads[i] as string) + raw.bytes.toString('base64', o, o + bytes);
      o += (bytes + 7) & ~7;
    }
    inputs = layout.inputs.length === 0 ? '{}' : `${inputs}"}`;
    let outputs = layout.outputs.length === 0 ? '{' : '';
    for (let i = 0; i < layout.outputs.length; i++) {
      const part = layout.outputs[i] as RawPart;
      const size = BYTES_PER_ELEMENT[part.dtype as Exclude<DType, 'string'>];
      const view = raw.of(part.dtype);
      const at = o / size;
      outputs += this.#outputKeys[i] as string;
      if (part.width === 1) outputs += rawElement(part.dtype, view[at]);
      else {
        outputs += '[';
        for (let j = 0; j < part.width; j++) outputs += (j > 0 ? ',' : '') + rawElement(part.dtype, view[at + j]);
        outputs += ']';
      }
      o += (part.width * size + 7) & ~7;
    }
    return [inputs, `${outputs}}`];
  }
}

/** `element` for a value read from a typed view of `dtype` (never a string, never float16). */
function rawElement(dtype: string, v: number | bigint | undefined): string {
  if (typeof v === 'number') {
    if (dtype === 'bool') return v !== 0 ? 'true' : 'false';
    return Number.isFinite(v) ? String(v) : 'null';
  }
  if (typeof v === 'bigint') return String(Number(v));
  return 'null';
}

/** Numeric tensors with a typed array (float16 is printed from its bits by `element`, so it stays on the text path). */
function isRawType(t: Tensor): boolean {
  return t.dtype !== 'string' && t.dtype !== 'float16' && ArrayBuffer.isView(t.data);
}

function aligned(part: RawPart): number {
  const bytes = part.width * BYTES_PER_ELEMENT[part.dtype as Exclude<DType, 'string'>];
  return (bytes + 7) & ~7;
}

/** Parts up to this many bytes are copied element by element: a view per part cost more than the copy. */
const SMALL_PART = 256;

function copyPart(part: RawPart, t: Tensor, r: number, out: Uint8Array, o: number, views: RawViews | undefined): number {
  const data = t.data as Exclude<Tensor['data'], readonly string[]>;
  const size = data.BYTES_PER_ELEMENT;
  const bytes = part.width * size;
  if (views === undefined || bytes > SMALL_PART || !copySmall(data, r * part.width, part.width, views.of(part.dtype), o / size)) {
    out.set(new Uint8Array(data.buffer, data.byteOffset + r * bytes, bytes), o);
  }
  const next = o + aligned(part);
  // The padding to the next multiple of 8: zeros, not what a reused buffer held before.
  if (next > o + bytes) out.fill(0, o + bytes, next);
  return next;
}

/**
 * `n` elements from `from[start]` to `to[at]` (views of the same element type) by a loop of the
 * array's own kind: one loop over every typed-array kind was megamorphic, and a view of the source
 * per part cost more than the copy. False for the kinds copied as bytes instead.
 */
function copySmall(from: Exclude<Tensor['data'], readonly string[]>, start: number, n: number, to: ArrayLike<number | bigint>, at: number): boolean {
  if (from instanceof Float32Array) copyFloat32(from, start, n, to as Float32Array, at);
  else if (from instanceof BigInt64Array) copyInt64(from, start, n, to as BigInt64Array, at);
  else if (from instanceof Float64Array) copyFloat64(from, start, n, to as Float64Array, at);
  else if (from instanceof Int32Array) copyInt32(from, start, n, to as Int32Array, at);
  else return false;
  return true;
}

function copyFloat32(from: Float32Array, start: number, n: number, to: Float32Array, at: number): void {
  for (let j = 0; j < n; j++) to[at + j] = from[start + j] as number;
}

function copyFloat64(from: Float64Array, start: number, n: number, to: Float64Array, at: number): void {
  for (let j = 0; j < n; j++) to[at + j] = from[start + j] as number;
}

function copyInt32(from: Int32Array, start: number, n: number, to: Int32Array, at: number): void {
  for (let j = 0; j < n; j++) to[at + j] = from[start + j] as number;
}

function copyInt64(from: BigInt64Array, start: number, n: number, to: BigInt64Array, at: number): void {
  for (let j = 0; j < n; j++) to[at + j] = from[start + j] as bigint;
}

function sameLayout(layout: RawLayout, inputs: Readonly<Record<string, Tensor>>, outputs: Readonly<Record<string, Tensor>>, rows: number): boolean {
  for (const part of layout.inputs) {
    const t = inputs[part.name];
    if (!t || t.dtype !== part.dtype || t.data.length !== part.width * rows || !ArrayBuffer.isView(t.data)) return false;
  }
  let n = 0;
  for (const name in outputs) {
    const part = layout.outputs[n++];
    const t = outputs[name] as Tensor;
    if (!part || part.name !== name || t.dtype !== part.dtype || t.data.length !== part.width * rows || !ArrayBuffer.isView(t.data)) return false;
  }
  return n === layout.outputs.length;
}

interface InputPlan {
  readonly name: string;
  /** `"name":` */
  readonly key: string;
  /** `"@name":` (a packed numeric tensor row) */
  readonly packedKey: string;
  /** `"column":` per element, when the input has a column mapping. */
  readonly keys: readonly string[] | undefined;
  /** The signature's column mapping (the reader names packed elements after it). */
  readonly columns: readonly string[] | undefined;
  readonly width: number | undefined;
}

function planInput(spec: TensorSpec): InputPlan {
  const rest = spec.shape.slice(1);
  const width = rest.some((d) => d < 0) ? undefined : rest.reduce((a, b) => a * b, 1);
  return {
    name: spec.name,
    key: `${JSON.stringify(spec.name)}:`,
    packedKey: `${JSON.stringify(`@${spec.name}`)}:`,
    keys: spec.columns?.map((c) => `${JSON.stringify(c)}:`),
    columns: spec.columns,
    width,
  };
}

const KEYS = new Map<string, string>();

/** `"name":`, built once per output name. */
function keyOf(name: string): string {
  let k = KEYS.get(name);
  if (k === undefined) {
    k = `${JSON.stringify(name)}:`;
    if (KEYS.size < 10_000) KEYS.set(name, k);
  }
  return k;
}

const PACKED: Readonly<Record<string, new (buffer: ArrayBuffer) => ArrayLike<number | bigint>>> = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
};

/**
 * Unpack `"<dtype>:<base64>"` into the row's values (NaN → null, int64 → number, bool →
 * boolean), or undefined when the text is not a packed row.
 */
export function unpackRow(text: string): (number | boolean | null)[] | undefined {
  const colon = text.indexOf(':');
  const dtype = text.slice(0, colon);
  const Ctor = PACKED[dtype];
  if (colon < 0 || !Ctor) return undefined;
  const raw = Buffer.from(text.slice(colon + 1), 'base64');
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  const view = new Ctor(copy.buffer);
  const out = new Array<number | boolean | null>(view.length);
  for (let i = 0; i < view.length; i++) {
    const v = view[i];
    const n = dtype === 'float16' ? halfToFloat(v as number) : v;
    out[i] = dtype === 'bool' ? n !== 0 : typeof n === 'bigint' ? Number(n) : n === undefined || !Number.isFinite(n) ? null : n;
  }
  return out;
}

/** IEEE 754 half precision bits → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function element(t: Tensor, i: number): string {
  const v = t.data[i];
  if (typeof v === 'number') {
    if (t.dtype === 'bool') return v !== 0 ? 'true' : 'false';
    return Number.isFinite(v) ? String(v) : 'null';
  }
  if (typeof v === 'bigint') return String(Number(v));
  if (typeof v === 'string') return JSON.stringify(v);
  return 'null';
}

function json(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'bigint') return String(Number(v));
  if (v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(json).join(',')}]`;
  return JSON.stringify(v);
}
