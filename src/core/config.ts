import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { ferry } from './errors.js';

/** Ferry's settings, validated once at start, frozen, and passed down explicitly. */
export interface FerryConfig {
  /** The embedded home: SQLite registry and local artifacts live here. */
  readonly home: string;
  /** `postgres://…` to keep the registry in PostgreSQL; undefined → SQLite in `home`. */
  readonly databaseUrl: string | undefined;
  /** Directory of the local content-addressed artifact store (or of the local cache of a shared one). */
  readonly artifactsDir: string;
  /**
   * Whether a PostgreSQL registry pushes changes to servers with LISTEN/NOTIFY (default on).
   * Off for a connection pooler in transaction mode (PgBouncer), which cannot hold a LISTEN:
   * servers then see alias moves on their next poll.
   */
  readonly registryListen: boolean;
  /** A shared artifact store (`postgres://…[?schema=s]`); undefined → the local directory alone. */
  readonly artifactsUrl: string | undefined;
  /** AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION: an `s3://` artifact store's credentials. */
  readonly aws: { readonly accessKeyId: string | undefined; readonly secretAccessKey: string | undefined; readonly sessionToken: string | undefined; readonly region: string | undefined };
  /** How long a write waits for another process's lock before FERRY_E_REGISTRY_BUSY. */
  readonly busyTimeoutMs: number;
  /** Who is acting: recorded as creator of versions and mover of aliases. */
  readonly actor: string;
  /** The online feature store: a `redis://` URL (`FERRY_ONLINE_STORE`); undefined → the registry database. */
  readonly onlineStore: string | undefined;
  /** `FERRY_WEBHOOK_ALLOW` / `FERRY_WEBHOOK_DENY`: where alert webhooks may be posted (comma-separated addresses, CIDR ranges, host names). */
  readonly webhooks: Readonly<{ allow: readonly string[]; deny: readonly string[] }>;
  readonly onnx: Readonly<{ intraOpThreads: number | undefined; interOpThreads: number | undefined; spinning: boolean }>;
}

/** Environment variables Ferry reads (documented in the README's configuration table). */
export type FerryEnv = Readonly<Record<string, string | undefined>>;

/** Build the config from environment variables; invalid values fail here, not deep in the code. */
export function loadConfig(env: FerryEnv = process.env): FerryConfig {
  const home = resolve(env.FERRY_HOME || '.ferry');
  const databaseUrl = env.FERRY_DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw ferry('FERRY_E_CONFIG_INVALID', { detail: `FERRY_DATABASE_URL must start with postgres:// (got "${databaseUrl}")` });
  }
  const artifactsUrl = env.FERRY_ARTIFACTS_URL || undefined;
  if (artifactsUrl && !/^(postgres(ql)?|s3):\/\//.test(artifactsUrl)) {
    throw ferry('FERRY_E_CONFIG_INVALID', { detail: `FERRY_ARTIFACTS_URL must start with postgres:// or s3:// (got "${artifactsUrl}")` });
  }
  const aws = Object.freeze({ accessKeyId: env.AWS_ACCESS_KEY_ID || undefined, secretAccessKey: env.AWS_SECRET_ACCESS_KEY || undefined, sessionToken: env.AWS_SESSION_TOKEN || undefined, region: env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined });
  if (artifactsUrl?.startsWith('s3://') && (!aws.accessKeyId || !aws.secretAccessKey)) {
    throw ferry('FERRY_E_CONFIG_INVALID', { detail: 'FERRY_ARTIFACTS_URL is an s3:// bucket: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)' });
  }
  return Object.freeze({
    home,
    databaseUrl,
    artifactsUrl,
    aws,
    registryListen: !['0', 'false', 'off'].includes((env.FERRY_REGISTRY_LISTEN ?? '').toLowerCase()),
    artifactsDir: resolve(home, env.FERRY_ARTIFACTS_DIR || 'artifacts'),
    busyTimeoutMs: intVar(env, 'FERRY_BUSY_TIMEOUT_MS', 5000, 0),
    actor: env.FERRY_ACTOR || safeUserName(),
    onlineStore: onlineStoreVar(env.FERRY_ONLINE_STORE),
    webhooks: Object.freeze({ allow: listVar(env, 'FERRY_WEBHOOK_ALLOW'), deny: listVar(env, 'FERRY_WEBHOOK_DENY') }),
    onnx: Object.freeze({
      intraOpThreads: optionalIntVar(env, 'FERRY_ONNX_INTRA_OP_THREADS', 1),
      interOpThreads: optionalIntVar(env, 'FERRY_ONNX_INTER_OP_THREADS', 1),
      spinning: env.FERRY_ONNX_SPINNING === '1' || env.FERRY_ONNX_SPINNING === 'true',
    }),
  });
}

function onlineStoreVar(raw: string | undefined): string | undefined {
  if (!raw || raw === 'registry') return undefined;
  if (!/^rediss?:\/\//.test(raw)) throw ferry('FERRY_E_CONFIG_INVALID', { detail: `FERRY_ONLINE_STORE must be a redis:// URL or "registry" (got "${raw}")` });
  return raw;
}

function listVar(env: FerryEnv, name: string): readonly string[] {
  return Object.freeze((env[name] ?? '').split(',').map((e) => e.trim()).filter((e) => e !== ''));
}

function intVar(env: FerryEnv, name: string, fallback: number, min: number): number {
  return optionalIntVar(env, name, min) ?? fallback;
}

function optionalIntVar(env: FerryEnv, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw ferry('FERRY_E_CONFIG_INVALID', { detail: `${name} must be an integer ≥ ${min} (got "${raw}")` });
  }
  return value;
}

function safeUserName(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}
