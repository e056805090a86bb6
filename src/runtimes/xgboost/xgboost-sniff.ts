/** Is this artifact what xgboost's save_model writes? (The first bytes only.) */

const LEARNER = new TextEncoder().encode('learner');
const SNIFF_BYTES = 4096;

/** JSON text whose first value is an object, with a "learner" key near the start. */
export function sniffJson(bytes: Uint8Array): boolean {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] !== 0x7b) return false;
  const head = new TextDecoder().decode(bytes.subarray(i, i + SNIFF_BYTES));
  return /"learner"\s*:/.test(head);
}

/** UBJSON: `{`, then a key length (an integer marker) and, among the first keys, `learner`. */
export function sniffUbjson(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x7b || !'iUIlL'.includes(String.fromCharCode(bytes[1] ?? 0))) return false;
  const end = Math.min(bytes.length, SNIFF_BYTES) - LEARNER.length;
  outer: for (let i = 2; i <= end; i++) {
    for (let j = 0; j < LEARNER.length; j++) if (bytes[i + j] !== LEARNER[j]) continue outer;
    return true;
  }
  return false;
}

