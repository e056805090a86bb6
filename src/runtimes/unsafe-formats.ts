/**
 * Files Ferry recognises only to refuse them: Python pickles in every protocol, joblib dumps
 * (plain or compressed), PyTorch checkpoints, Keras HDF5. Loading a pickle runs whatever code
 * the file names, so Ferry never unpickles: it looks at the first bytes (and, for zlib/gzip,
 * at the first decompressed bytes) and says how to convert the model instead.
 */
import { constants, gunzipSync, inflateSync } from 'node:zlib';

export interface Refusal {
  /** What the file looks like, for the message ("a Python pickle (…)"). */
  readonly what: string;
  /** Why it is refused and how to convert it. */
  readonly hint: string;
}

const PICKLE_WHY = 'loading a pickle runs arbitrary code (any object in it can execute commands while it is unpickled), so Ferry never unpickles files.';
const CONVERT =
  'Convert the model and register the result: scikit-learn → ONNX with skl2onnx (onnxmltools for LightGBM, XGBoost, CatBoost) or → PMML with sklearn2pmml; ' +
  'an XGBoost booster → booster.save_model("model.json"); a LightGBM booster → booster.save_model("model.txt").';
const TORCH = 'Export it to ONNX (torch.onnx.export) and register that file.';

const pickleRefusal = (what: string): Refusal => ({ what, hint: `${PICKLE_WHY} ${CONVERT}` });

/** How many compressed bytes are inflated to look at the start of the content. */
const PEEK = 64 * 1024;

/** The refusal for an artifact, or undefined when it is none of the refused kinds. */
export function refusalFor(bytes: Uint8Array): Refusal | undefined {
  if (isPickle(bytes)) {
    return pickleRefusal(isLegacyTorch(bytes) ? 'a PyTorch checkpoint saved in the legacy pickle format (.pt/.pth)' : 'a Python pickle (a pickle.dump or joblib.dump model file)');
  }
  const b0 = bytes[0];
  const b1 = bytes[1] ?? -1;
  // joblib's compressors: zlib (the default for compress=True/1–9), gzip, bz2, xz, lzma, lz4.
  if (b0 === 0x78 && (b1 === 0x01 || b1 === 0x5e || b1 === 0x9c || b1 === 0xda) && isPickle(inflated(bytes, 'zlib'))) {
    return pickleRefusal('a zlib-compressed Python pickle (joblib.dump with compress)');
  }
  if (b0 === 0x5a && b1 === 0x46 && isPickle(inflated(bytes.subarray(bytes.indexOf(0x78, 2)), 'zlib'))) {
    return pickleRefusal('a compressed Python pickle (joblib.dump with compress, joblib < 0.10)'); // "ZF" + length + zlib
  }
  if (b0 === 0x1f && b1 === 0x8b && isPickle(inflated(bytes, 'gzip'))) {
    return pickleRefusal('a gzip-compressed Python pickle (joblib.dump with compress="gzip")');
  }
  // Neither Ferry nor any model format it reads uses these containers; joblib does.
  if (startsWith(bytes, [0x42, 0x5a, 0x68]) && (bytes[3] ?? 0) >= 0x31 && (bytes[3] ?? 0) <= 0x39) {
    return pickleRefusal('a bz2-compressed file (joblib.dump with compress="bz2" writes these)');
  }
  if (startsWith(bytes, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return pickleRefusal('an xz-compressed file (joblib.dump with compress="xz" writes these)');
  if (startsWith(bytes, [0x5d, 0x00, 0x00])) return pickleRefusal('an lzma-compressed file (joblib.dump with compress="lzma" writes these)');
  if (startsWith(bytes, [0x04, 0x22, 0x4d, 0x18])) return pickleRefusal('an lz4-compressed file (joblib.dump with compress="lz4" writes these)');
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) {
    return zipHoldsPickle(bytes)
      ? { what: 'a PyTorch checkpoint (.pt/.pth: a ZIP archive around a pickle)', hint: `${PICKLE_WHY} ${TORCH}` }
      : { what: 'a ZIP archive (e.g. a Keras .keras file or a zipped model folder)', hint: 'Ferry reads single model files. Export the model to ONNX (tf2onnx, torch.onnx.export, skl2onnx) and register that file.' };
  }
  if (startsWith(bytes, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return { what: 'an HDF5 file (e.g. a Keras .h5 model)', hint: 'Export the model to ONNX (tf2onnx) and register that file.' };
  }
  return undefined;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

/** The first decompressed bytes of a zlib or gzip stream (empty when it does not inflate). */
function inflated(bytes: Uint8Array, kind: 'zlib' | 'gzip'): Uint8Array {
  const head = bytes.subarray(0, PEEK);
  const options = { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: PEEK };
  try {
    return kind === 'zlib' ? inflateSync(head, options) : gunzipSync(head, options);
  } catch {
    return new Uint8Array(0);
  }
}

/**
 * Pickle protocols 2–5 start with PROTO (0x80, version). Protocols 0 and 1 have no header: the
 * stream starts with an opcode and ends with STOP ("."). Only the openings pickle.dump really
 * writes for a model are taken (a GLOBAL, a MARK, an empty dict/list/tuple, a scalar), and
 * the final "." must be there, so JSON, XML and LightGBM text are never taken for a pickle.
 */
export function isPickle(bytes: Uint8Array): boolean {
  const b0 = bytes[0];
  if (b0 === 0x80) {
    const proto = bytes[1] ?? 0;
    return proto >= 2 && proto <= 5;
  }
  if (bytes.length < 2 || bytes[bytes.length - 1] !== 0x2e) return false;
  const head = String.fromCharCode(...bytes.subarray(0, 64));
  return (
    /^c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n[pq(N)}\]]/.test(head) || // GLOBAL module\nname\n, then PUT/BINPUT/MARK/… (protocol 0/1 objects)
    /^\((d|l|t|c[A-Za-z_]|\(|I-?\d|S'|V|N|F-?\d|p\d|g\d|lp|dp)/.test(head) || // MARK then a protocol-0 opcode
    /^\([\]})KJMUXGq(]/.test(head) || // MARK then a protocol-1 opcode
    /^[}\])]([q(.]|\x85|\x86|\x87)/.test(head) || // EMPTY_DICT/LIST/TUPLE (protocol 1), then BINPUT/MARK/STOP
    /^(I-?\d+\n|L-?\d+L?\n|F-?[\d.]+(e[-+]?\d+)?\n|S'[^\n]*'\n|N\.$)/.test(head) // protocol-0 scalars
  );
}

/** torch.save before 1.6 wrote a pickled magic number (0x1950a86a20f9469cfc6c) first. */
function isLegacyTorch(bytes: Uint8Array): boolean {
  return startsWith(bytes, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
}

/** A ZIP whose first entries include a `.pkl` (torch.save's `<name>/data.pkl`). */
function zipHoldsPickle(bytes: Uint8Array): boolean {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, PEEK));
  return /[\w/]*\.pkl/.test(head);
}
