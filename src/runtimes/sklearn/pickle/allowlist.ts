/**
 * The only names a pickle may reference. A class resolves to an inert name (instances of it are
 * records: class, arguments, state); a function resolves to a TypeScript re-implementation of
 * what numpy, copyreg or codecs would do with the same arguments. Everything else is refused the
 * moment the stream names it.
 */
import { dtypeFromDescr, emptyArray, fromBuffer, scalar } from './numpy.js';
import type { PickleLimits } from './unpickler.js';
import { itemsOf, PickleError, PickleGlobalRefused, PyGlobal, PyObject, type PyValue } from './values.js';

/** A function re-implemented in TypeScript: arguments in, value out, nothing else. */
export type Callable = (args: readonly PyValue[], limits: PickleLimits) => PyValue;

const both = (suffix: string): string[] => [`numpy.core.${suffix}`, `numpy._core.${suffix}`];

const FUNCTIONS = new Map<string, Callable>([
  ...both('multiarray._reconstruct').map((n): [string, Callable] => [n, () => emptyArray()]),
  ...both('multiarray.scalar').map((n): [string, Callable] => [n, scalar]),
  ...both('numeric._frombuffer').map((n): [string, Callable] => [n, fromBuffer]),
  ['numpy.dtype', (args) => dtypeFromDescr(args)],
  // Protocol 2 writes bytes as _codecs.encode(text, 'latin1').
  ['_codecs.encode', (args) => {
    const [s, enc] = args;
    if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) throw new PickleError('_codecs.encode is read only for latin1 text (how protocol 2 writes bytes)');
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }],
  ['builtins.bytearray', (args) => (args[0] instanceof Uint8Array ? args[0] : typeof args[0] === 'string' ? Uint8Array.from(args[0], (c) => c.charCodeAt(0)) : new Uint8Array(0))],
  ['copyreg._reconstructor', (args) => {
    const cls = args[0];
    if (!(cls instanceof PyGlobal)) throw new PickleError('copyreg._reconstructor needs a class');
    return new PyObject(cls, []);
  }],
  ['copyreg.__newobj__', (args) => {
    const cls = args[0];
    if (!(cls instanceof PyGlobal)) throw new PickleError('copyreg.__newobj__ needs a class');
    return new PyObject(cls, args.slice(1));
  }],
  ['collections.OrderedDict', (args) => {
    const d = new Map();
    for (const pair of itemsOf(args[0] ?? null) ?? []) {
      const [k, v] = itemsOf(pair) ?? [];
      if (typeof k === 'string') d.set(k, v ?? null);
    }
    return d;
  }],
  // slice(start, stop, step) as data (ColumnTransformer keeps output slices).
  ['builtins.slice', (args) => new PyObject(new PyGlobal('builtins', 'slice'), args.slice(0, 3))],
  // KD/ball trees and distance metrics pickle through newObj(cls): an empty record of the class
  // (Ferry never uses the tree; the metric's name is also kept on the estimator).
  ...['neighbors._kd_tree', 'neighbors._ball_tree', 'metrics._dist_metrics'].map((m): [string, Callable] => [`sklearn.${m}.newObj`, (args) => {
    const cls = args[0];
    if (!(cls instanceof PyGlobal)) throw new PickleError('newObj needs a class');
    return new PyObject(cls, []);
  }]),
  ['builtins.set', (args) => [...(itemsOf(args[0] ?? null) ?? [])]],
  ['builtins.frozenset', (args) => [...(itemsOf(args[0] ?? null) ?? [])]],
]);

/** Names that are only ever values (a dtype argument, a base class): inert. */
const NAMES = new Set<string>([
  'numpy.ndarray',
  'builtins.object', 'builtins.float', 'builtins.int', 'builtins.str', 'builtins.bool', 'builtins.bytes', 'builtins.list', 'builtins.dict', 'builtins.tuple',
  ...['float64', 'float32', 'int64', 'int32', 'int16', 'int8', 'uint64', 'uint32', 'uint16', 'uint8', 'bool_', 'object_', 'str_', 'bytes_'].map((t) => `numpy.${t}`),
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
  // numpy RandomState objects some estimators keep (unused for prediction).
  'numpy.random._pickle.__randomstate_ctor', 'numpy.random._pickle.__bit_generator_ctor', 'numpy.random._pickle.__generator_ctor',
  // Wrappers whose boosters Ferry names in its advice (their state is never executed).
  'xgboost.sklearn.XGBClassifier', 'xgboost.sklearn.XGBRegressor', 'xgboost.core.Booster',
  'lightgbm.sklearn.LGBMClassifier', 'lightgbm.sklearn.LGBMRegressor', 'lightgbm.basic.Booster', 'lightgbm.compat._LGBMLabelEncoder',
]);

/** scikit-learn classes (CapWords names under `sklearn.`) load as records, so an unsupported step can be named. */
const SKLEARN_CLASS = /^sklearn(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const CLASS_NAME = /^_?[A-Z][A-Za-z0-9_]*$/;
/** Cython extension types pickle through a module-level `__pyx_unpickle_<Type>` (scikit-learn's loss objects). */
const PYX_UNPICKLE = /^__pyx_unpickle_([A-Za-z_][A-Za-z0-9_]*)$/;

/** Modules whose names, once called by Python's unpickler, run commands, code or I/O. */
const DANGEROUS = /^(os|posix|nt|subprocess|sys|builtins|__builtin__|socket|shutil|runpy|importlib|pickle|_pickle|marshal|ctypes|code|codeop|pty|commands|webbrowser|multiprocessing|asyncio|torch|functools|operator|types)(\.|$)/;

/** Python 2 module names that protocols 0–2 write (Python's own _compat_pickle mapping, the part models use). */
const PY2_MODULES: Readonly<Record<string, string>> = { copy_reg: 'copyreg', __builtin__: 'builtins', _codecs: '_codecs' };

/** Whether a global is allowed, without resolving it (inspection). */
export function isAllowed(module: string, name: string): boolean {
  const q = `${PY2_MODULES[module] ?? module}.${name}`;
  return FUNCTIONS.has(q) || NAMES.has(q) || (SKLEARN_CLASS.test(module) && (CLASS_NAME.test(name) || PYX_UNPICKLE.test(name)));
}

/** Resolve a global named by the stream, or throw PickleGlobalRefused: nothing outside this list is ever touched. */
export function resolveGlobal(module: string, name: string): PyGlobal {
  if (!isAllowed(module, name)) throw new PickleGlobalRefused(`${module}.${name}`, whyRefused(module));
  return new PyGlobal(PY2_MODULES[module] ?? module, name);
}

/** The TypeScript re-implementation behind an allowed function, or undefined for a class. */
export function callableOf(g: PyGlobal): Callable | undefined {
  const fn = FUNCTIONS.get(g.qualname);
  if (fn) return fn;
  const pyx = PYX_UNPICKLE.exec(g.name);
  if (pyx && SKLEARN_CLASS.test(g.module)) {
    // __pyx_unpickle_T(type, checksum, state): a record of T with that state.
    return (args) => {
      const obj = new PyObject(new PyGlobal(g.module, pyx[1]!), []);
      obj.state = args[2] ?? null;
      return obj;
    };
  }
  return undefined;
}

function whyRefused(module: string): string {
  return DANGEROUS.test(module)
    ? 'Python would call it while unpickling, which can run commands or code; Ferry never calls anything a pickle names'
    : 'it is not a scikit-learn, numpy or joblib name Ferry reads; Ferry never resolves names outside its allowlist';
}
