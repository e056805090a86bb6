/**
 * `ferry inspect <file>`: what a pickle or joblib file holds, read by the same restricted
 * unpickler in inspection mode (a name outside the allowlist is recorded as an inert name instead
 * of stopping the read; nothing is called either way): every global it references and whether it
 * is allowed, every array with its shape and bytes, the estimator tree, and whether Ferry can
 * load it (and if not, why).
 */
import { artifactFailure } from '../artifact-error.js';
import { sklearnRuntime } from './sklearn-runtime.js';
import { compileDocument } from './compile.js';
import { translate } from './convert/translate.js';
import { decompressAsync, loadPickle } from './pickle/joblib.js';
import { itemsOf, NdArray, PyObject, PyTuple, type PyValue } from './pickle/values.js';

export interface InspectReport {
  readonly container: 'joblib' | 'pickle';
  readonly compression: string;
  /** Bytes of the pickle stream after decompression. */
  readonly size: number;
  readonly globals: readonly { readonly name: string; readonly allowed: boolean; readonly count: number }[];
  readonly arrays: readonly { readonly path: string; readonly dtype: string; readonly shape: readonly number[]; readonly bytes: number }[];
  /** The estimator tree, one line per estimator, indented by depth. */
  readonly estimators: readonly string[];
  readonly loadable: boolean;
  /** Why it cannot be loaded (the catalog error's message), when it cannot. */
  readonly reason?: string;
}

const MAX_DEPTH = 64;
const MAX_ARRAYS = 500;

/** Inspect a pickle or joblib file (throws the catalog error when it cannot be read at all). */
export async function inspectPickle(bytes: Uint8Array, path: string): Promise<InspectReport> {
  const counts = new Map<string, { allowed: boolean; count: number }>();
  let loaded;
  try {
    loaded = loadPickle(bytes, {
      decompressed: await decompressAsync(bytes),
      inspect: true,
      onGlobal: (name, allowed) => {
        const c = counts.get(name) ?? { allowed, count: 0 };
        c.count++;
        counts.set(name, c);
      },
    });
  } catch (err) {
    throw artifactFailure(err, sklearnRuntime, path);
  }
  const arrays: { path: string; dtype: string; shape: number[]; bytes: number }[] = [];
  const estimators: string[] = [];
  walk(loaded.value, '', 0, new Set(), arrays, estimators);
  const globals = [...counts].map(([name, c]) => ({ name, ...c })).sort((a, b) => Number(a.allowed) - Number(b.allowed) || a.name.localeCompare(b.name));
  const refused = globals.filter((g) => !g.allowed);
  let reason: string | undefined;
  if (refused.length > 0) {
    reason = `the file references ${refused.map((g) => g.name).join(', ')}, outside Ferry's allowlist; loading it stops there (FERRY_E_PICKLE_GLOBAL_REFUSED)`;
  } else {
    try {
      compileDocument(translate(loaded.value, { sha256: '', container: loaded.joblib ? 'joblib' : 'pickle', compression: loaded.compression, bytes: bytes.length }));
    } catch (err) {
      const e = artifactFailure(err, sklearnRuntime, path);
      reason = `${e.code}: ${e.message}`;
    }
  }
  return {
    container: loaded.joblib ? 'joblib' : 'pickle', compression: loaded.compression, size: loaded.size, globals, arrays, estimators,
    loadable: reason === undefined, ...(reason ? { reason } : {}),
  };
}

function walk(v: PyValue, path: string, depth: number, seen: Set<object>, arrays: { path: string; dtype: string; shape: number[]; bytes: number }[], estimators: string[]): void {
  if (depth > MAX_DEPTH || v === null || typeof v !== 'object' || v instanceof Uint8Array) return;
  if (seen.has(v)) return;
  seen.add(v);
  if (v instanceof NdArray) {
    if (arrays.length < MAX_ARRAYS) arrays.push({ path: path || '(root)', dtype: v.dtype.str, shape: [...v.shape], bytes: v.size * v.dtype.itemsize });
    if (Array.isArray(v.data)) v.data.forEach((x, i) => walk(x, `${path}[${i}]`, depth + 1, seen, arrays, estimators));
    return;
  }
  if (v instanceof PyObject) {
    const params = v.state instanceof Map ? v.state : undefined;
    if (v.cls.module.startsWith('sklearn.') && !v.cls.module.startsWith('sklearn.tree._tree') && params?.has('_sklearn_version')) {
      estimators.push(`${'  '.repeat(estimators.length === 0 ? 0 : Math.min(depth, 12) >> 1)}${path || '(root)'}: ${v.cls.qualname}`);
    }
    v.args.forEach((a, i) => walk(a, `${path}(${i})`, depth + 1, seen, arrays, estimators));
    if (params) for (const [k, x] of params) walk(x, path ? `${path}.${String(k)}` : String(k), depth + 1, seen, arrays, estimators);
    else walk(v.state, `${path}.__state__`, depth + 1, seen, arrays, estimators);
    return;
  }
  if (v instanceof Map) {
    for (const [k, x] of v) walk(x, `${path}[${JSON.stringify(k)}]`, depth + 1, seen, arrays, estimators);
    return;
  }
  const items = itemsOf(v);
  if (items) {
    // Pipeline steps: (name, estimator) pairs keep the step's name in the path.
    items.forEach((x, i) => {
      const pair = x instanceof PyTuple && x.items.length >= 2 && typeof x.items[0] === 'string' ? x.items : undefined;
      if (pair) walk(pair[1]!, `${path}[${pair[0] as string}]`, depth + 1, seen, arrays, estimators);
      else walk(x, `${path}[${i}]`, depth + 1, seen, arrays, estimators);
    });
  }
}
