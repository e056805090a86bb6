/**
 * Files Ferry recognises only to refuse them: PyTorch checkpoints (a pickle with persistent ids,
 * bare or in a ZIP), ZIP archives and HDF5 files. Other pickles and joblib files go to the
 * sklearn runtime, whose restricted unpickler resolves only allowlisted names and never calls
 * anything (runtimes/sklearn/pickle); an arbitrary pickle stops there at its first global
 * outside the allowlist (FERRY_E_PICKLE_GLOBAL_REFUSED names it).
 */

export interface Refusal {
  /** What the file looks like, for the message ("a PyTorch checkpoint (…)"). */
  readonly what: string;
  /** Why it is refused and how to convert it. */
  readonly hint: string;
}

const PICKLE_WHY = 'loading a pickle runs arbitrary code (any object in it can execute commands while it is unpickled), and a PyTorch checkpoint is not a model Ferry can translate.';
const TORCH = 'Export it to ONNX (torch.onnx.export) and register that file.';

/** How many bytes are looked at for the names inside a ZIP archive. */
const PEEK = 64 * 1024;

/** The refusal for an artifact, or undefined when it is none of the refused kinds. */
export function refusalFor(bytes: Uint8Array): Refusal | undefined {
  if (isPickle(bytes) && isLegacyTorch(bytes)) {
    return { what: 'a PyTorch checkpoint saved in the legacy pickle format (.pt/.pth)', hint: `${PICKLE_WHY} ${TORCH}` };
  }
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
