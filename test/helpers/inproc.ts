/**
 * A real server started in this process (no child process, no build): a fresh home, models
 * registered through the registry, `startServer` with a config object. For tests that need the
 * server's own objects (deployments, auth) or many cheap restarts.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { openServing, type Ferry } from '../../src/main/ferry.js';
import { loadConfig } from '../../src/core/config.js';
import { ApiKeyStore, type ApiScope } from '../../src/serving/api-key-store.js';
import { newApiKey } from '../../src/serving/auth.js';
import { parseServeConfig, type ServeFlags } from '../../src/serving/config.js';
import { ServingMetrics } from '../../src/serving/metrics.js';
import { startServer, type RunningServer } from '../../src/serving/server.js';
import { tempDir } from './env.js';

export interface InProcess {
  readonly app: Ferry;
  readonly server: RunningServer;
  readonly url: string;
  readonly home: string;
  /** The keys asked for in `keys`, in order. */
  readonly keys: readonly string[];
  /** Stop the server and close the registry (the home stays until `cleanup`). */
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

export interface InProcessOptions {
  /** Models to register first: file path and name (each call adds a version). */
  readonly register?: readonly { readonly path: string; readonly name: string; readonly aliases?: readonly string[] }[];
  /** ferry.yaml as an object (`port: 0`, `grpc_port: 0` unless given). */
  readonly serve?: Record<string, unknown>;
  readonly flags?: ServeFlags;
  /** An existing home (e.g. to restart over the same registry). */
  readonly home?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Where the server's log lines go (JSON, one per line); silent when absent. */
  readonly log?: (line: string) => void;
  /** API keys to create before the server starts (their secrets come back in `keys`, in order). */
  readonly keys?: readonly (readonly ApiScope[])[];
}

/** Open a Ferry on a temporary home, register the models, and start serving on free loopback ports. */
export async function startInProcess(options: InProcessOptions = {}): Promise<InProcess> {
  const tmp = options.home ? undefined : tempDir();
  const home = options.home ?? join(tmp?.dir ?? '', 'home');
  const config = loadConfig({ FERRY_HOME: home, ...options.env });
  const serve = parseServeConfig({ port: 0, grpc_port: 0, runtime_workers: 0, ...options.serve }, options.flags ?? {});
  const log = options.log;
  const logger = log ? pino({ level: 'info' }, new Writable({ write(chunk: Buffer | string, _enc, done) { log(chunk.toString()); done(); } })) : pino({ level: 'silent' });
  const metrics = new ServingMetrics();
  const app = await openServing(config, serve, metrics, logger);
  let server: RunningServer;
  const keys: string[] = [];
  try {
    for (const m of options.register ?? []) await app.registry.register({ path: m.path, name: m.name, actor: 'test', ...(m.aliases ? { aliases: m.aliases } : {}) });
    for (const scopes of options.keys ?? []) keys.push(await createKey(app, scopes));
    server = await startServer(app, serve, metrics, logger);
  } catch (err) {
    await app.close();
    tmp?.cleanup();
    throw err;
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.close();
    await app.close();
  };
  return {
    app,
    server,
    url: server.httpUrl,
    home,
    keys,
    stop,
    async cleanup() {
      await stop();
      tmp?.cleanup();
    },
  };
}

/** Create an API key in the registry; returns the secret. */
export async function createKey(app: Ferry, scopes: readonly ApiScope[]): Promise<string> {
  const { id, key, hash } = newApiKey();
  await new ApiKeyStore(app.database).create({ id, name: `test-${id}`, hash, scopes, createdBy: 'test', createdAt: new Date().toISOString() });
  return key;
}
