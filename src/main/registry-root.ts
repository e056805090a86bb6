import { join } from 'node:path';
import { openArtifactStore } from '../artifacts/open.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { batchMigrations } from '../batch/migrations.js';
import type { FerryConfig } from '../core/config.js';
import { featureMigrations } from '../features/migrations.js';
import { monitoringMigrations } from '../monitoring/migrations.js';
import type { ArtifactInspector } from '../registry/artifact-inspector.js';
import type { KyselyRegistryStore } from '../registry/kysely-store.js';
import { registryMigrations } from '../registry/migrations.js';
import type { AreaMigrations, RegistryDb, SqlCapabilities } from '../registry/registry-db.js';
import { Registry } from '../registry/registry.js';
import type { RuntimeOptions } from '../runtimes/model-runtime.js';
import { servingMigrations } from '../serving/migrations.js';

/** Every area's tables besides the registry's own, applied with them on every open. */
export const AREA_MIGRATIONS: readonly AreaMigrations[] = [batchMigrations, monitoringMigrations, servingMigrations, featureMigrations];

/** Names of every migration this Ferry applies (the registry's and the areas'), sorted. */
export function migrationNames(capabilities: SqlCapabilities): string[] {
  return [registryMigrations, ...AREA_MIGRATIONS].flatMap((area) => Object.keys(area(capabilities))).sort();
}

/** The stores named by the config: the registry database (every area's tables applied) and the artifacts. */
export interface Stores {
  readonly store: KyselyRegistryStore;
  readonly artifacts: ArtifactStore;
  close(): Promise<void>;
}

export async function openStores(config: FerryConfig): Promise<Stores> {
  // Only the configured database's driver is loaded (pg and better-sqlite3 each cost start-up time).
  const store: KyselyRegistryStore = config.databaseUrl
    ? await (await import('../registry/postgres-store.js')).openPostgresStore({ url: config.databaseUrl, busyTimeoutMs: config.busyTimeoutMs, listen: config.registryListen, migrations: AREA_MIGRATIONS })
    : await (await import('../registry/sqlite-store.js')).openSqliteStore({ path: join(config.home, 'registry.db'), busyTimeoutMs: config.busyTimeoutMs, migrations: AREA_MIGRATIONS });
  try {
    const artifacts = await openArtifactStore(config);
    return {
      store,
      artifacts,
      async close() {
        await store.close();
        await artifacts.close?.();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The runtimes' options from the config, with a process's own overrides (a server's worker threads). */
export function runtimeOptionsOf(config: FerryConfig, overrides: Partial<RuntimeOptions> = {}): RuntimeOptions {
  return { intraOpThreads: config.onnx.intraOpThreads, interOpThreads: config.onnx.interOpThreads, spinning: config.onnx.spinning, ...overrides };
}

/** The registry alone: what commands that only read and move models, versions and aliases need. */
export interface RegistryRoot {
  readonly config: FerryConfig;
  readonly registry: Registry;
  readonly database: RegistryDb;
  close(): Promise<void>;
}

/**
 * Open the registry without the scoring pipeline, the runtimes or the prediction log (their
 * modules are not loaded): `ferry models`, `versions`, `alias`, `traffic`, `archive`. A
 * registration through it loads the runtime catalog when it inspects the artifact.
 */
export async function openRegistry(config: FerryConfig): Promise<RegistryRoot> {
  const stores = await openStores(config);
  const options = runtimeOptionsOf(config);
  const inspector: ArtifactInspector = {
    async inspect(bytes, path, format) {
      const { RuntimeCatalog } = await import('../runtimes/catalog.js');
      return new RuntimeCatalog().inspector(options).inspect(bytes, path, format);
    },
  };
  return { config, registry: new Registry(stores.store, stores.artifacts, inspector), database: stores.store.database, close: () => stores.close() };
}
