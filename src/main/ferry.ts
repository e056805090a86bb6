import type { Logger } from 'pino';
import type { FerryConfig } from '../core/config.js';
import { ferry } from '../core/errors.js';
import { FeatureRegistry } from '../features/feature-registry.js';
import { featureStage } from '../features/feature-stage.js';
import type { FeatureLookups } from '../features/lookup.js';
import { WebhookDestinations } from '../monitoring/webhook-destinations.js';
import { lazyPredictionLog, type LazyPredictionLog } from '../monitoring/prediction-log-observer.js';
import { PredictionLogWriter, type LogObserver, type LogStats, type LogWriterOptions } from '../monitoring/prediction-log-writer.js';
import type { RegistryDb } from '../registry/registry-db.js';
import { Registry } from '../registry/registry.js';
import { RuntimeCatalog } from '../runtimes/catalog.js';
import type { RuntimeOptions } from '../runtimes/model-runtime.js';
import type { ResponseCache } from '../scoring/cache.js';
import type { DeploymentsConfig } from '../scoring/deployment-config.js';
import type { Deployments, DeploymentsLog, DeploymentsParts } from '../scoring/deployments.js';
import { ModelLoader } from '../scoring/model-loader.js';
import { explainStage } from '../scoring/explain-stage.js';
import { Explanations } from '../scoring/explanations.js';
import { Pipeline } from '../scoring/pipeline.js';
import { openStores, runtimeOptionsOf } from './registry-root.js';
import type { InputStage } from '../scoring/pipeline-hooks.js';
import { Scorer, type ScorerOptions } from '../scoring/scorer.js';
import type { ServeConfig } from '../serving/config.js';
import type { ServingMetrics } from '../serving/metrics.js';

export { AREA_MIGRATIONS, migrationNames } from './registry-root.js';

/**
 * Everything a command needs, wired once from the config. Only the CLI (and tests) hold this;
 * each area is handed the narrow parts it uses (`registry`, `database`, `pipeline`, …).
 */
export interface Ferry {
  readonly config: FerryConfig;
  readonly registry: Registry;
  /** The registry database, for areas with tables of their own in it (batch runs, jobs and leases; the prediction log, profiles, alerts). */
  readonly database: RegistryDb;
  readonly runtimes: RuntimeCatalog;
  readonly loader: ModelLoader;
  /** The scoring core (below the pipeline: servers hand it to `Deployments`). */
  readonly scorer: Scorer;
  /**
   * The one inference pipeline, with the prediction log registered as an observer (opened on
   * the first run that logs). In a server (`openServing`) it also holds the served models' `Deployments`.
   */
  readonly pipeline: Pipeline;
  /** Explanations of scored rows (means and background rows from each version's reference profile). */
  readonly explanations: Explanations;
  /** Feature declarations and model bindings (the registry database). */
  readonly features: FeatureRegistry;
  /** Feature lookups over the online store (opened on first use; `FERRY_ONLINE_STORE`, else the registry database). */
  featureLookups(): Promise<FeatureLookups>;
  /** Input stages the one pipeline runs (feature lookups). */
  readonly inputStages: readonly InputStage[];
  /** Where alert webhooks may be posted (FERRY_WEBHOOK_ALLOW / FERRY_WEBHOOK_DENY). */
  readonly webhooks: WebhookDestinations;
  close(): Promise<void>;
}

/** Extra wiring for one process. */
export interface FerryOptions {
  /** Reports of the prediction log's write failures (a stream consumer logs them). */
  readonly predictionLog?: LogObserver | undefined;
}

/** A server's Ferry: the same parts, with the served models' lifecycle inside the one pipeline. */
export interface ServingFerry extends Ferry {
  /** The versions this server keeps loaded (started by the server, closed by `close`). */
  readonly deployments: Deployments;
}

/** The composition root: open the stores named by the config and wire the parts. */
export function openFerry(config: FerryConfig, scorerOptions: ScorerOptions = {}, runtimeOverrides: Partial<RuntimeOptions> = {}, options: FerryOptions = {}): Promise<Ferry> {
  return wire(config, scorerOptions, runtimeOverrides, { ...(options.predictionLog ? { observer: options.predictionLog } : {}) }, undefined);
}

/**
 * The composition root of `ferry serve`: the scorer with each model's batching and cache, the
 * runtimes in worker threads, the prediction log with the server's buffer, retention and
 * metrics, and `Deployments` in the one pipeline — one pipeline and one log writer per process.
 */
export async function openServing(config: FerryConfig, serve: ServeConfig, metrics: ServingMetrics, logger: Logger): Promise<ServingFerry> {
  // Loaded here, not with every command: only servers and consumers keep models deployed.
  const [{ ResponseCache }, { Deployments }] = await Promise.all([import('../scoring/cache.js'), import('../scoring/deployments.js')]);
  const modelConfig = (name: string) => serve.models?.find((m) => m.name === name) ?? serve.defaults;
  const caches = new Map<string, ResponseCache>();
  const scorerOptions: ScorerOptions = {
    batchPolicy: (m) => modelConfig(m.version.model).batching,
    cache: (m) => {
      const bytes = modelConfig(m.version.model).cacheBytes;
      if (bytes === undefined) return undefined;
      let cache = caches.get(m.version.model);
      if (!cache) {
        cache = new ResponseCache(bytes, { onLookup: (model, hit) => metrics.cacheLookups.labels(model, hit ? 'hit' : 'miss').inc() });
        caches.set(m.version.model, cache);
      }
      return cache;
    },
    observer: metrics.scoreObserver(),
  };
  const { bufferRows, flushRows, flushIntervalMs, retentionDays, shedFrom, writerNice } = serve.predictionLog;
  let lastError = 0;
  let stats: () => LogStats = () => ({ queued: 0, written: 0, dropped: 0, failed: 0 });
  const logOptions: LogWriterOptions = {
    bufferRows,
    flushRows,
    flushIntervalMs,
    retentionDays,
    shedFrom,
    writerNice,
    observer: {
      ...metrics.predictionLogObserver(() => stats()),
      onError: (err) => {
        // At most one line a minute: a database outage must not flood the log.
        if (Date.now() - lastError > 60_000) logger.warn({ err }, 'prediction log: writing failed; predictions are dropped and counted (ferry_prediction_log_dropped_total)');
        lastError = Date.now();
      },
    },
  };
  const app = await wire(config, scorerOptions, { workers: serve.runtimeWorkers, inlineBelowMs: serve.inlineBelowMs }, logOptions, (parts) => new Deployments(parts, serve, logger, (d) => metrics.modelsLoaded.inc(d)));
  const { deployments, predictionLog } = app;
  if (!deployments) throw ferry('FERRY_E_INTERNAL', { detail: 'the serving pipeline was wired without deployments' });
  stats = () => predictionLog.stats();
  // Retention is enforced from the start, not from the first logged request.
  if (retentionDays !== undefined) predictionLog.open();
  return { ...app, deployments };
}

/**
 * The composition root of `ferry stream run`: the one model a consumer scores, kept loaded (and
 * following its alias) by `Deployments` inside the one pipeline, as in a server.
 */
export async function openStreaming(config: FerryConfig, deployment: DeploymentsConfig, log: DeploymentsLog, runtimeOverrides: Partial<RuntimeOptions>, options: FerryOptions = {}): Promise<ServingFerry> {
  const { Deployments } = await import('../scoring/deployments.js');
  const app = await wire(config, {}, runtimeOverrides, { ...(options.predictionLog ? { observer: options.predictionLog } : {}) }, (parts) => new Deployments(parts, deployment, log));
  const { deployments } = app;
  if (!deployments) throw ferry('FERRY_E_INTERNAL', { detail: 'the streaming pipeline was wired without deployments' });
  return { ...app, deployments };
}

/** What `wire` builds: the Ferry, its served models when it serves, and its prediction log. */
interface Wired extends Ferry {
  readonly deployments: Deployments | undefined;
  readonly predictionLog: LazyPredictionLog;
}

async function wire(config: FerryConfig, scorerOptions: ScorerOptions, runtimeOverrides: Partial<RuntimeOptions>, logOptions: LogWriterOptions, deploymentsOf: ((parts: DeploymentsParts) => Deployments) | undefined): Promise<Wired> {
  const webhooks = new WebhookDestinations(config.webhooks); // invalid entries fail here, before anything opens
  const stores = await openStores(config);
  const { store, artifacts } = stores;
  const runtimes = new RuntimeCatalog();
  const runtimeOptions = runtimeOptionsOf(config, runtimeOverrides);
  const registry = new Registry(store, artifacts, runtimes.inspector(runtimeOptions));
  const loader = new ModelLoader(registry, runtimes, runtimeOptions);
  const scorer = new Scorer(scorerOptions);
  // The profile store loads with the first explanation that needs it, not with every command.
  const explanations = new Explanations(async (v) => {
    const [{ explainSourcesOf }, { loadProfile }] = await Promise.all([import('../monitoring/explain-sources.js'), import('../monitoring/profile-store.js')]);
    return explainSourcesOf(await loadProfile(store.database, v.model, v.version));
  });
  const features = new FeatureRegistry(store.database);
  let lookups: Promise<FeatureLookups> | undefined;
  const featureLookups = (): Promise<FeatureLookups> => {
    lookups ??= (async () => {
      const [{ openOnlineStore }, { FeatureLookups: Lookups }] = await Promise.all([import('../features/online-store.js'), import('../features/lookup.js')]);
      return new Lookups(features, await openOnlineStore(config.onlineStore, store.database));
    })();
    // A failed open is not kept: the next run tries again.
    lookups.catch(() => { lookups = undefined; });
    return lookups;
  };
  const inputStages: InputStage[] = [featureStage(features, featureLookups)];
  const deployments = deploymentsOf?.({ registry, loader, scorer });
  const pipeline = new Pipeline({ registry, loader, scorer, deployments });
  for (const stage of inputStages) pipeline.use(stage);
  pipeline.use(explainStage(explanations));
  const predictionLog = lazyPredictionLog(() => new PredictionLogWriter(store.database, logOptions));
  // The prediction log first: the ids it hands out go into the answer.
  pipeline.observe(predictionLog.observer);
  return {
    config,
    deployments,
    predictionLog,
    registry,
    database: store.database,
    runtimes,
    loader,
    scorer,
    pipeline,
    explanations,
    features,
    featureLookups,
    inputStages,
    webhooks,
    async close() {
      await deployments?.close();
      await predictionLog.close();
      if (lookups) await (await lookups.catch(() => undefined))?.store.close();
      scorer.close();
      await loader.close();
      await stores.close();
    },
  };
}
