import { ferry } from '../core/errors.js';

/** A parsed model reference: `name` (latest live version), `name:3`, or `name@alias`. */
export type ModelRef =
  | { readonly kind: 'latest'; readonly model: string }
  | { readonly kind: 'version'; readonly model: string; readonly version: number }
  | { readonly kind: 'alias'; readonly model: string; readonly alias: string };

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throw FERRY_E_NAME_INVALID unless `name` is a valid model or alias name. */
export function checkName(kind: 'Model' | 'Alias', name: string): string {
  if (!NAME_RE.test(name)) throw ferry('FERRY_E_NAME_INVALID', { kind, name });
  if (kind === 'Alias' && /^\d+$/.test(name)) throw ferry('FERRY_E_NAME_INVALID', { kind, name });
  return name;
}

/** Parse `name`, `name:3` or `name@alias`. */
export function parseModelRef(ref: string): ModelRef {
  const at = /^([^:@]+)@([^:@]+)$/.exec(ref);
  if (at?.[1] && at[2] && NAME_RE.test(at[1]) && NAME_RE.test(at[2])) return { kind: 'alias', model: at[1], alias: at[2] };
  const colon = /^([^:@]+):(\d{1,9})$/.exec(ref);
  if (colon?.[1] && colon[2] && NAME_RE.test(colon[1])) {
    const version = Number(colon[2]);
    if (version >= 1) return { kind: 'version', model: colon[1], version };
  }
  if (NAME_RE.test(ref)) return { kind: 'latest', model: ref };
  throw ferry('FERRY_E_MODEL_REF_INVALID', { ref });
}

/** The canonical text of a reference. */
export function formatModelRef(ref: ModelRef): string {
  switch (ref.kind) {
    case 'latest': return ref.model;
    case 'version': return `${ref.model}:${ref.version}`;
    case 'alias': return `${ref.model}@${ref.alias}`;
  }
}
