import { join } from 'node:path';
import { openArtifactStore } from './artifacts/open.js';
import type { FerryConfig } from './core/config.js';
import { batchMigrations } from './batch/migrations.js';
import { monitoringMigrations } from './monitoring/migrations.js';
import { Registry } from './registry/registry.js';
import type { KyselyRegistryStore } from './registry/kysely-store.js';
import { registryMigrations } from './registry/migrations.js';
import type { AreaMigrations, RegistryDb, SqlCapabilities } from './registry/registry-db.js';
import { RuntimeCatalog } from './runtimes/catalog.js';
import type { RuntimeOptions } from './runtimes/model-runtime.js';
import { ModelLoader } from './scoring/model-loader.js';
import { Scorer, type ScorerOptions } from './scoring/scorer.js';
import { Explanations } from './scoring/explanations.js';
import { servingMigrations } from './serving/migrations.js';

/** Every area's tables besides the registry's own, applied with them on every open. */
export const AREA_MIGRATIONS: readonly AreaMigrations[] = [batchMigrations, monitoringMigrations, servingMigrations];

/** Names of every migration this Ferry applies (the registry's and the areas'), sorted. */
export function migrationNames(capabilities: SqlCapabilities): string[] {
  return [registryMigrations, ...AREA_MIGRATIONS].flatMap((area) => Object.keys(area(capabilities))).sort();
}

/** Everything a command or server needs, wired once from the config. */
export interface Ferry {
  readonly config: FerryConfig;
  readonly registry: Registry;
  /** The registry database, for areas with tables of their own in it (batch runs, jobs and leases; the prediction log, profiles, alerts). */
  readonly database: RegistryDb;
  readonly runtimes: RuntimeCatalog;
  readonly loader: ModelLoader;
  /** The one scoring core. */
  readonly scorer: Scorer;
  /** Explanations of scored rows (means and background rows from each version's reference profile). */
  readonly explanations: Explanations;
  close(): Promise<void>;
}

/** The composition root: open the stores named by the config and wire the parts. */
export async function openFerry(config: FerryConfig, scorerOptions: ScorerOptions = {}, runtimeOverrides: Partial<RuntimeOptions> = {}): Promise<Ferry> {
  // Only the configured database's driver is loaded (pg and better-sqlite3 each cost start-up time).
  const store: KyselyRegistryStore = config.databaseUrl
    ? await (await import('./registry/postgres-store.js')).openPostgresStore({ url: config.databaseUrl, busyTimeoutMs: config.busyTimeoutMs, listen: config.registryListen, migrations: AREA_MIGRATIONS })
    : await (await import('./registry/sqlite-store.js')).openSqliteStore({ path: join(config.home, 'registry.db'), busyTimeoutMs: config.busyTimeoutMs, migrations: AREA_MIGRATIONS });
  const artifacts = await openArtifactStore(config);
  const runtimes = new RuntimeCatalog();
  const runtimeOptions: RuntimeOptions = { intraOpThreads: config.onnx.intraOpThreads, interOpThreads: config.onnx.interOpThreads, spinning: config.onnx.spinning, ...runtimeOverrides };
  const registry = new Registry(store, artifacts, runtimes.inspector(runtimeOptions));
  const loader = new ModelLoader(registry, runtimes, runtimeOptions);
  const scorer = new Scorer(scorerOptions);
  // The profile store loads with the first explanation that needs it, not with every command.
  const explanations = new Explanations(async (v) => {
    const [{ explainSourcesOf }, { loadProfile }] = await Promise.all([import('./monitoring/explain-sources.js'), import('./monitoring/profile-store.js')]);
    return explainSourcesOf(await loadProfile(store.database, v.model, v.version));
  });
  return {
    config,
    registry,
    database: store.database,
    runtimes,
    loader,
    scorer,
    explanations,
    async close() {
      scorer.close();
      await loader.close();
      await store.close();
      await artifacts.close?.();
    },
  };
}
