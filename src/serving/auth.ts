import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { ferry } from '../core/errors.js';
import type { ApiKey, ApiKeyStore, ApiScope } from './api-key-store.js';

/** Anything carrying request headers (Fastify requests, gRPC metadata as a record). */
export interface HasHeaders {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * Who may call what. `check` throws FERRY_E_UNAUTHENTICATED (401) or FERRY_E_FORBIDDEN (403),
 * and returns who is calling (recorded as the actor of alias moves).
 */
export interface Auth {
  readonly enabled: boolean;
  check(req: HasHeaders, scope: ApiScope, action?: string): string;
  /** Throw FERRY_E_UNAUTHENTICATED unless the request carries a valid key (any scope): checked before a body is read. */
  authenticate(req: HasHeaders): void;
}

/** Auth switched off: everything is allowed (the server binds 127.0.0.1 by default). */
export const openAuth: Auth = { enabled: false, check: () => 'api', authenticate: () => undefined };

const KEY_RE = /^fk_([a-z0-9]{8})_([A-Za-z0-9_-]{20,})$/;

/** A new key: `fk_<id>_<secret>`. Only the sha256 of the whole key is stored. */
export function newApiKey(): { id: string; key: string; hash: string } {
  const id = randomBytes(6).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 8);
  const key = `fk_${id}_${randomBytes(24).toString('base64url')}`;
  return { id, key, hash: hashKey(key) };
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * API keys from the registry database, held in memory (refreshed periodically so revocations apply
 * without a restart). Keys come as `Authorization: Bearer <key>` or `x-api-key: <key>`.
 */
export class ApiKeyAuth implements Auth {
  readonly enabled = true;
  readonly #store: Pick<ApiKeyStore, 'list'>;
  readonly #keysFile: string | undefined;
  #keys = new Map<string, ApiKey>();

  /** `keysFile`: keys kept outside the registry (a mounted Secret), re-read on every refresh. */
  constructor(store: Pick<ApiKeyStore, 'list'>, keysFile?: string) {
    this.#store = store;
    this.#keysFile = keysFile;
  }

  async refresh(): Promise<void> {
    const keys = await this.#store.list();
    const fromFile = this.#keysFile ? await readKeysFile(this.#keysFile) : [];
    this.#keys = new Map([...keys.filter((k) => !k.revokedAt), ...fromFile].map((k) => [k.id, k]));
  }

  check(req: HasHeaders, scope: ApiScope, action = scope === 'admin' ? 'changing models' : 'predictions'): string {
    const stored = this.#known(req);
    if (!stored.scopes.includes(scope) && !stored.scopes.includes('admin')) throw ferry('FERRY_E_FORBIDDEN', { scope, action });
    return `apikey:${stored.id} (${stored.name})`;
  }

  authenticate(req: HasHeaders): void {
    this.#known(req);
  }

  #known(req: HasHeaders): ApiKey {
    const presented = keyFrom(req);
    const match = presented ? KEY_RE.exec(presented) : null;
    const stored = match?.[1] ? this.#keys.get(match[1]) : undefined;
    if (!presented || !stored || !sameHash(hashKey(presented), stored.hash)) throw ferry('FERRY_E_UNAUTHENTICATED');
    return stored;
  }
}

function keyFrom(req: HasHeaders): string | undefined {
  const auth = req.headers.authorization;
  const header = Array.isArray(auth) ? auth[0] : auth;
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim();
  const x = req.headers['x-api-key'];
  return Array.isArray(x) ? x[0] : x;
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A keys file larger than this is refused (it holds a handful of lines). */
const MAX_KEYS_FILE_BYTES = 1024 * 1024;

/**
 * Keys from a file: one `<key> [scope,scope]` a line (default scope predict), `#` comments.
 * Only hashes are kept in memory, as for registry keys.
 */
export async function readKeysFile(path: string): Promise<ApiKey[]> {
  let text: string;
  try {
    if ((await stat(path)).size > MAX_KEYS_FILE_BYTES) throw ferry('FERRY_E_CONFIG_INVALID', { detail: `API keys file ${path} is larger than ${MAX_KEYS_FILE_BYTES} bytes` });
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof Error && err.name === 'FerryError') throw err;
    throw ferry('FERRY_E_FILE_NOT_FOUND', { path }, err);
  }
  const keys: ApiKey[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [key = '', scopeList = 'predict', ...rest] = line.split(/\s+/);
    const match = KEY_RE.exec(key);
    const scopes = scopeList.split(',');
    if (!match?.[1] || rest.length > 0 || !scopes.every((s): s is ApiScope => s === 'predict' || s === 'feedback' || s === 'admin')) {
      throw ferry('FERRY_E_CONFIG_INVALID', { detail: `API keys file ${path}, line ${i + 1}: write "<key> [predict|feedback|admin[,…]]" with a key from \`ferry apikey create\` (fk_<id>_<secret>)` });
    }
    keys.push({ id: match[1], name: `keys file line ${i + 1}`, hash: hashKey(key), scopes, createdBy: path, createdAt: '', revokedAt: null });
  });
  return keys;
}
