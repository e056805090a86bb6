/**
 * A restricted unpickler: Python's pickle virtual machine (protocols 0–5) re-implemented over a
 * byte array, with one difference that makes it safe. `GLOBAL`, `STACK_GLOBAL` and `INST` look
 * the name up in Ferry's allowlist (allowlist.ts) and stop at once on anything else; an allowed
 * name resolves to an inert record or to a small TypeScript re-implementation (numpy's array
 * reconstruction, `_codecs.encode`, …). `REDUCE`, `NEWOBJ` and `BUILD` never call anything:
 * they build records or run those re-implementations. Every length read from the stream is
 * checked against the bytes that remain and the limits before anything is allocated.
 */
import { callableOf, isAllowed, resolveGlobal } from './allowlist.js';
import { setArrayState, setDtypeState } from './numpy.js';
import { NdArray, NpDtype, PickleError, PickleLimitExceeded, PyGlobal, PyObject, PyTuple, type PyDict, type PyKey, type PyValue } from './values.js';

/** Bounds applied while reading (before allocating). */
export interface PickleLimits {
  /** Largest number of elements of one array. */
  readonly maxArrayElements: number;
  /** Deepest nesting of MARKs (and of nested pickles in joblib files). */
  readonly maxDepth: number;
  /** Most memo entries. */
  readonly maxMemo: number;
  /** Most values on the stack at once. */
  readonly maxStack: number;
}

export const DEFAULT_LIMITS: PickleLimits = { maxArrayElements: 1 << 28, maxDepth: 200, maxMemo: 1 << 20, maxStack: 1 << 20 };

/** Called on BUILD of an object whose class has a reader (joblib's NumpyArrayWrapper): returns what replaces it. */
export type BuildHook = (obj: PyObject, state: PyValue, reader: PickleReader, depth: number) => PyValue | undefined;

/** Reports each global the stream names (inspection), allowed or not. */
export type GlobalListener = (qualname: string, allowed: boolean) => void;

export interface UnpickleOptions {
  readonly limits?: PickleLimits;
  readonly onBuild?: BuildHook;
  readonly onGlobal?: GlobalListener;
  /** Inspection: a refused global is reported and recorded as an inert name instead of stopping the read. */
  readonly inspect?: boolean;
}

const MARK = Symbol('mark');
type Slot = PyValue | typeof MARK;

/** The cursor over the bytes (shared with joblib's array reader, which reads raw data between pickle opcodes). */
export class PickleReader {
  pos: number;
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array, start = 0) {
    // A plain Uint8Array view (a Node Buffer's slice() would not copy).
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** `n` bytes as a view (no copy), after checking they are there. */
  take(n: number, what: string): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining) {
      throw new PickleError(`${what} of ${n} bytes at offset ${this.pos} runs past the end of the data (${this.remaining} bytes left)`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8(): number {
    return this.take(1, 'a byte')[0]!;
  }

  u16(): number {
    const b = this.take(2, 'a 2-byte length');
    return b[0]! | (b[1]! << 8);
  }

  u32(): number {
    const b = this.take(4, 'a 4-byte length');
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16)) + b[3]! * 0x1000000;
  }

  i32(): number {
    const b = this.take(4, 'a 4-byte integer');
    return b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
  }

  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    if (hi >= 0x200000) throw new PickleError(`a length of ${hi} · 2^32 bytes at offset ${this.pos - 8} is impossible here`);
    return hi * 0x100000000 + lo;
  }

  /** A protocol-0 text argument up to the newline (at most 1 MiB). */
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 1 << 20) throw new PickleError(`a text argument at offset ${this.pos} has no end of line`);
    const text = latin1(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

function text(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new PickleError('a string is not valid UTF-8');
  }
}

/** Decode a little-endian two's-complement integer (LONG1/LONG4), at most 1 KiB of digits. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  if (b.length > 1024) throw new PickleLimitExceeded('integer size', `an integer of ${b.length} bytes is larger than any model needs (limit 1024)`);
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) n -= 1n << BigInt(8 * b.length);
  return toNumber(n);
}

/** A Python int as a number when it is exact, else a bigint. */
export function toNumber(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function parseIntText(s: string): number | bigint {
  const t = s.endsWith('L') ? s.slice(0, -1) : s;
  if (!/^[-+]?\d{1,400}$/.test(t)) throw new PickleError(`"${s.slice(0, 40)}" is not an integer`);
  return toNumber(BigInt(t));
}

/** Python's repr-quoted protocol-0 string ('…' or "…") to its bytes; only the escapes repr writes. */
function unquote(s: string): string {
  const q = s[0];
  if ((q !== "'" && q !== '"') || s[s.length - 1] !== q || s.length < 2) throw new PickleError('a STRING argument is not quoted');
  return s.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|[\\'"nrt])/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e] ?? e;
  });
}

/** raw-unicode-escape (protocol-0 UNICODE): \uXXXX and \UXXXXXXXX escapes, latin-1 otherwise. */
function rawUnicode(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u: string | undefined, U: string | undefined) => String.fromCodePoint(parseInt(u ?? U ?? '0', 16)));
}

/**
 * Run the pickle program in `reader` from its position to STOP and return the value it built.
 * The reader is left just after STOP (joblib files continue with array bytes and further pickles).
 */
export function unpickle(reader: PickleReader, options: UnpickleOptions = {}, depth = 0): PyValue {
  const limits = options.limits ?? DEFAULT_LIMITS;
  if (depth > limits.maxDepth) throw new PickleLimitExceeded('nesting depth', `pickles nested ${depth} deep exceed the limit of ${limits.maxDepth}`);
  let stack: Slot[] = [];
  const marks: Slot[][] = [];
  const memo = new Map<number, PyValue>();

  const push = (v: PyValue): void => {
    if (stack.length >= limits.maxStack) throw new PickleLimitExceeded('stack size', `more than ${limits.maxStack} values on the pickle stack`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new PickleError(`the stack is empty (or at a MARK) at offset ${reader.pos - 1}`);
    return v;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleError(`the stack is empty at offset ${reader.pos - 1}`);
    return v;
  };
  const popMark = (): PyValue[] => {
    const items = stack as PyValue[];
    const prev = marks.pop();
    if (!prev) throw new PickleError(`no MARK to pop at offset ${reader.pos - 1}`);
    stack = prev;
    if (items.includes(MARK as unknown as PyValue)) throw new PickleError('a MARK inside marked items');
    return items;
  };
  const put = (i: number): void => {
    if (!memo.has(i) && memo.size >= limits.maxMemo) throw new PickleLimitExceeded('memo size', `more than ${limits.maxMemo} memo entries`);
    memo.set(i, top());
  };
  const get = (i: number): void => {
    const v = memo.get(i);
    if (v === undefined) throw new PickleError(`memo entry ${i} is read before it is written`);
    push(v);
  };
  const global = (module: string, name: string): void => {
    const allowed = isAllowed(module, name);
    options.onGlobal?.(`${module}.${name}`, allowed);
    // Outside the allowlist: stop (PickleGlobalRefused), or when inspecting keep an inert name.
    push(allowed || !options.inspect ? resolveGlobal(module, name) : new PyGlobal(module, name));
  };
  const setItems = (dict: PyValue, items: readonly PyValue[]): void => {
    if (dict instanceof PyObject) dict.items ??= new Map(); // a dict subclass (sklearn's Bunch)
    const target = dict instanceof PyObject ? dict.items : dict;
    if (!(target instanceof Map)) {
      throw new PickleError(`SETITEM(S) on ${dict instanceof PyObject ? dict.cls.qualname : typeof dict}, which is not a dict`);
    }
    if (items.length % 2) throw new PickleError('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) target.set(key(items[i]!), items[i + 1]!);
  };
  const append = (list: PyValue, items: readonly PyValue[]): void => {
    if (!Array.isArray(list)) throw new PickleError('APPEND(S) on something that is not a list');
    if (list.length + items.length > limits.maxArrayElements) throw new PickleLimitExceeded('list length', `a list longer than ${limits.maxArrayElements} items`);
    for (const v of items) list.push(v);
  };

  for (;;) {
    const at = reader.pos;
    const op = reader.u8();
    switch (op) {
      case 0x80: { // PROTO
        const p = reader.u8();
        if (p > 5) throw new PickleError(`pickle protocol ${p} is newer than 5`);
        break;
      }
      case 0x95: { // FRAME: a length prefix; the frame's opcodes follow inline
        const n = reader.u64();
        if (n > reader.remaining) throw new PickleError(`a frame of ${n} bytes at offset ${at} runs past the end of the data`);
        break;
      }
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) throw new PickleError(`STOP at offset ${at} with ${stack.length} values on the stack`);
        return pop();
      case 0x28: // MARK
        if (marks.length >= limits.maxDepth) throw new PickleLimitExceeded('nesting depth', `more than ${limits.maxDepth} nested MARKs`);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(reader.i32()); break; // BININT
      case 0x4b: push(reader.u8()); break; // BININT1
      case 0x4d: push(reader.u16()); break; // BININT2
      case 0x8a: push(decodeLong(reader.take(reader.u8(), 'LONG1'))); break;
      case 0x8b: push(decodeLong(reader.take(reader.u32(), 'LONG4'))); break;
      case 0x49: { // INT (protocol 0; "01"/"00" are True/False)
        const s = reader.line();
        push(s === '01' ? true : s === '00' ? false : parseIntText(s));
        break;
      }
      case 0x4c: push(parseIntText(reader.line())); break; // LONG
      case 0x46: { // FLOAT
        const s = reader.line();
        const v = Number(s);
        if (s.trim() === '' || (Number.isNaN(v) && !/^[-+]?nan$/i.test(s))) throw new PickleError(`"${s.slice(0, 40)}" is not a float`);
        push(v);
        break;
      }
      case 0x47: { // BINFLOAT (big-endian double)
        const b = reader.take(8, 'BINFLOAT');
        push(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false));
        break;
      }
      case 0x53: push(unquote(reader.line())); break; // STRING (py2 str: kept as text)
      case 0x54: push(latin1(reader.take(reader.i32(), 'BINSTRING'))); break;
      case 0x55: push(latin1(reader.take(reader.u8(), 'SHORT_BINSTRING'))); break;
      case 0x56: push(rawUnicode(reader.line())); break; // UNICODE
      case 0x58: push(text(reader.take(reader.u32(), 'BINUNICODE'))); break;
      case 0x8c: push(text(reader.take(reader.u8(), 'SHORT_BINUNICODE'))); break;
      case 0x8d: push(text(reader.take(reader.u64(), 'BINUNICODE8'))); break;
      case 0x42: push(reader.take(reader.u32(), 'BINBYTES')); break;
      case 0x43: push(reader.take(reader.u8(), 'SHORT_BINBYTES')); break;
      case 0x8e: push(reader.take(reader.u64(), 'BINBYTES8')); break;
      // In-band PickleBuffer contents (numpy arrays under protocol 5): plain bytes, nothing more.
      case 0x96: push(reader.take(reader.u64(), 'BYTEARRAY8')); break;
      case 0x97: case 0x98: // NEXT_BUFFER, READONLY_BUFFER
        throw new PickleError('the pickle uses out-of-band buffers (protocol 5 buffer_callback); save it without buffer_callback so the data is in the file');
      case 0x29: push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x85: push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push(new PyTuple([a, b, c])); break; } // TUPLE3
      case 0x74: push(new PyTuple(popMark())); break; // TUPLE
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x6c: push(popMark()); break; // LIST
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x64: { const d: PyDict = new Map(); setItems(d, popMark()); push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: push([]); break; // EMPTY_SET (a set becomes a list of its items)
      case 0x90: { const items = popMark(); append(top(), items); break; } // ADDITEMS
      case 0x91: push(popMark()); break; // FROZENSET
      case 0x70: put(Number(parseIntText(reader.line()))); break; // PUT
      case 0x71: put(reader.u8()); break; // BINPUT
      case 0x72: put(reader.u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x67: get(Number(parseIntText(reader.line()))); break; // GET
      case 0x68: get(reader.u8()); break; // BINGET
      case 0x6a: get(reader.u32()); break; // LONG_BINGET
      case 0x63: { // GLOBAL module\nname\n
        const module = reader.line();
        global(module, reader.line());
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleError('STACK_GLOBAL needs two strings');
        global(module, name);
        break;
      }
      case 0x69: { // INST module\nname\n, args after MARK
        const module = reader.line();
        const name = reader.line();
        global(module, name);
        const cls = pop() as PyGlobal;
        push(instantiate(cls, popMark(), limits));
        break;
      }
      case 0x6f: { // OBJ: MARK cls args…
        const items = popMark();
        const cls = items[0];
        if (!(cls instanceof PyGlobal)) throw new PickleError('OBJ needs a class first');
        push(instantiate(cls, items.slice(1), limits));
        break;
      }
      case 0x52: { // REDUCE: callable, args
        const args = pop();
        const callable = pop();
        if (!(args instanceof PyTuple)) throw new PickleError('REDUCE needs an argument tuple');
        push(call(callable, args.items, limits));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        const cls = pop();
        if (!(cls instanceof PyGlobal) || !(args instanceof PyTuple)) throw new PickleError('NEWOBJ needs a class and an argument tuple');
        push(instantiate(cls, args.items, limits));
        break;
      }
      case 0x92: { // NEWOBJ_EX: cls, args, kwargs
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(cls instanceof PyGlobal) || !(args instanceof PyTuple) || !(kwargs instanceof Map)) throw new PickleError('NEWOBJ_EX needs a class, a tuple and a dict');
        push(instantiate(cls, args.items, limits));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        const replaced = build(obj, state, reader, options, depth);
        if (replaced !== undefined) stack[stack.length - 1] = replaced;
        break;
      }
      case 0x50: case 0x51: // PERSID, BINPERSID
        throw new PickleError('the pickle uses persistent ids (as torch.save does), which refer to data outside the stream');
      case 0x82: case 0x83: case 0x84: // EXT1/2/4
        throw new PickleError('the pickle uses the copyreg extension registry, which Ferry does not have');
      default:
        throw new PickleError(`unknown opcode 0x${op.toString(16).padStart(2, '0')} at offset ${at}`);
    }
  }
}

function key(v: PyValue): PyKey {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
  if (v instanceof PyTuple) return `(${v.items.map((x) => String(key(x))).join(', ')})`;
  throw new PickleError('a dict key that is not a str, int, float, bool, None or tuple of those');
}

/** A class applied to arguments (NEWOBJ, INST, OBJ, or REDUCE on a class): an inert instance. */
function instantiate(cls: PyGlobal, args: readonly PyValue[], limits: PickleLimits): PyValue {
  const fn = callableOf(cls);
  return fn ? fn(args, limits) : new PyObject(cls, args);
}

/** REDUCE: only allowlisted globals can be on the left; functions run their TypeScript re-implementation. */
function call(callable: PyValue, args: readonly PyValue[], limits: PickleLimits): PyValue {
  if (!(callable instanceof PyGlobal)) throw new PickleError('REDUCE on something that is not an allowlisted class or function');
  return instantiate(callable, args, limits);
}

/** BUILD: set an object's state (numpy arrays and dtypes decode theirs; hooks may replace the object). */
function build(obj: PyValue, state: PyValue, reader: PickleReader, options: UnpickleOptions, depth: number): PyValue | undefined {
  if (obj instanceof PyObject) {
    const replaced = options.onBuild?.(obj, state, reader, depth);
    if (replaced !== undefined) return replaced;
    obj.state = state;
    return undefined;
  }
  if (obj instanceof NdArray) {
    setArrayState(obj, state, options.limits ?? DEFAULT_LIMITS);
    return undefined;
  }
  if (obj instanceof NpDtype) {
    setDtypeState(obj, state);
    return undefined;
  }
  if (obj instanceof Map && state instanceof Map) {
    for (const [k, v] of state) obj.set(k, v);
    return undefined;
  }
  throw new PickleError(`BUILD on ${obj === null ? 'None' : typeof obj}, which has no state to set`);
}
