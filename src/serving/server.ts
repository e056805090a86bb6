import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ferry } from '../core/errors.js';
import { FERRY_VERSION } from '../core/version.js';
import { AlertEngine, countsFromPrometheus, DEFAULT_DELIVERY } from '../monitoring/alerts.js';
import type { WebhookDestinations } from '../monitoring/webhook-destinations.js';
import type { MonitoringParts } from '../monitoring/parts.js';
import { ShadowResultStore } from '../monitoring/shadow-store.js';
import { TrafficRecorder } from '../monitoring/traffic.js';
import { ApiKeyStore } from './api-key-store.js';
import { ApiKeyAuth, openAuth, type Auth } from './auth.js';
import type { ServeConfig } from './config.js';
import type { OperationsView, ServedChanges, ServingContext, ServingParts } from './context.js';
import { LONE_PROCESS, type ProcessGroup, type ServedChange } from './process-group.js';
import { startGrpc } from './grpc/grpc-server.js';
import { adminRoutes } from './http/admin.js';
import { authenticateBeforeBody } from './http/early-auth.js';
import { closeHttp, createHttpApp } from './http/fastify.js';
import { featureRoutes } from './http/features.js';
import { attributionRoutes } from './http/attributions.js';
import { feedbackRoutes } from './http/feedback.js';
import { predictionRoutes } from './http/predictions.js';
import { edgeRoutes } from './http/edge.js';
import { kserveV1Routes } from './http/kserve-v1.js';
import { mlflowRoutes } from './http/mlflow.js';
import { DriftGauges, monitoringRoutes } from './http/monitoring.js';
import { oipRoutes } from './http/oip.js';
import { oipInferFront } from './http/oip-front.js';
import { modelRoutes } from './http/models.js';
import { operationsRoutes } from './http/operations.js';
import { opsRoutes } from './http/ops.js';
import { uiRoutes } from './http/ui.js';
import type { ServingMetrics } from './metrics.js';
import { ShadowMirror } from './shadow-mirror.js';

/** A running server. */
export interface RunningServer {
  readonly httpUrl: string;
  readonly grpcPort: number | null;
  readonly context: ServingContext;
  /** Every HTTP route as `METHOD /path/:param` (what /openapi.json and docs/api.md must list). */
  readonly routes: readonly string[];
  /** Stop accepting, let in-flight requests finish, release models. */
  close(): Promise<void>;
}

/**
 * Start listening over a Ferry opened for serving (`openServing`: its one pipeline holds the
 * served models' `Deployments` and the prediction log); this adds the server's own observers
 * (metrics, shadow mirror) to that pipeline and starts the deployments.
 */
export async function startServer(app: ServingParts, config: ServeConfig, metrics: ServingMetrics, logger: Logger, operations?: OperationsView, group: ProcessGroup = LONE_PROCESS): Promise<RunningServer> {
  const { deployments, pipeline } = app;
  const shadow = new ShadowMirror(pipeline, metrics, new ShadowResultStore(app.database));
  const traffic = new TrafficRecorder();
  const observers = [pipeline.observe(metrics.pipelineObserver()), pipeline.observe(shadow), pipeline.observe(traffic)];
  let auth: Auth = openAuth;
  let authRefresh: NodeJS.Timeout | undefined;
  if (config.auth) {
    const keys = new ApiKeyAuth(new ApiKeyStore(app.database), config.apiKeysFile);
    await keys.refresh();
    authRefresh = setInterval(() => { keys.refresh().catch((err: unknown) => logger.warn({ err }, 'API key refresh failed')); }, config.pollIntervalMs);
    authRefresh.unref();
    auth = keys;
  }
  const monitoring: MonitoringParts = { registry: app.registry, database: app.database, pipeline };
  const apply = (change: ServedChange): Promise<void> => change.kind === 'refresh' ? deployments.refresh()
    : change.kind === 'load' ? deployments.load(change.model) : Promise.resolve(deployments.unload(change.model));
  // Here and in the other processes at once: the answer waits until every process serves the change.
  const served: ServedChanges = {
    refresh: () => both(apply({ kind: 'refresh' }), group.announce({ kind: 'refresh' })),
    load: (model) => both(apply({ kind: 'load', model }), group.announce({ kind: 'load', model })),
    unload: (model) => both(apply({ kind: 'unload', model }), group.announce({ kind: 'unload', model })),
  };
  const context: ServingContext = { app, monitoring, config, deployments, pipeline, metrics, group, served, traffic, auth, operations, logger, version: FERRY_VERSION };

  await deployments.start();
  const leave = group.join({ snapshot: () => metrics.registry.getMetricsAsJSON(), apply, traffic: (seconds) => traffic.export(seconds) });
  const httpState = { closing: false };
  const http: FastifyInstance = createHttpApp(config, logger, httpState, oipInferFront(context));
  authenticateBeforeBody(http, auth);
  const routeList: string[] = [];
  http.addHook('onRoute', (r) => { for (const m of [r.method].flat()) routeList.push(`${m} ${r.url}`); });
  for (const routes of [oipRoutes, mlflowRoutes, kserveV1Routes, adminRoutes, modelRoutes, feedbackRoutes, predictionRoutes, edgeRoutes, attributionRoutes, operationsRoutes, opsRoutes, featureRoutes]) routes(http, context);
  uiRoutes(http);
  const driftGauges = new DriftGauges(metrics.registry);
  monitoringRoutes(http, context, driftGauges);
  // Alert rules are evaluated once per server, not once per process (deliveries would repeat).
  const alerts = group.lead ? startAlerts(monitoring, config, group, metrics, logger, driftGauges, app.webhooks, app.featureLookups) : undefined;
  let address: string;
  try {
    address = await http.listen({ host: config.host, port: config.port });
  } catch (err) {
    // Nothing may keep running after a failed start (the alert timer would outlive the database).
    if (authRefresh) clearInterval(authRefresh);
    await alerts?.stop();
    await http.close().catch(() => undefined);
    for (const remove of observers) remove();
    leave();
    await deployments.close();
    const code = (err as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw ferry('FERRY_E_CONFIG_INVALID', { detail: `cannot listen for HTTP on ${config.host}:${config.port}: ${(err as Error).message}` }, err);
    throw err;
  }

  let grpcServer: grpc.Server | undefined;
  let grpcPort: number | null = null;
  if (config.grpcPort !== null) {
    try {
      const started = await startGrpc(context);
      grpcServer = started.server;
      grpcPort = started.port;
    } catch (err) {
      // Do not leave the HTTP side listening with nothing to stop it.
      if (authRefresh) clearInterval(authRefresh);
      await alerts?.stop();
      await http.close();
      for (const remove of observers) remove();
      leave();
      await deployments.close();
      throw err;
    }
  }
  if (!auth.enabled && config.insecureNoAuth) logger.warn({ host: config.host }, 'listening beyond loopback WITHOUT auth (--insecure-no-auth): anyone who can reach these ports can predict, move aliases and unload models');
  // A process of a group reports to the group's primary, which says "ferry serving" once all listen.
  logger.info({ http: address, ui: `${address}/ui/`, grpc: grpcPort, models: deployments.models, auth: auth.enabled, tls: config.tls !== undefined }, group.slot === 0 ? 'ferry serving' : 'server process listening');
  group.listening({ http: address, grpc: grpcPort });

  return {
    httpUrl: address,
    grpcPort,
    context,
    routes: routeList,
    async close() {
      if (authRefresh) clearInterval(authRefresh);
      // Alert deliveries and hooks in flight are abandoned, never waited for before the listeners close.
      const alertsStopped = alerts?.stop();
      await Promise.all([
        alertsStopped,
        closeHttp(http, httpState),
        new Promise<void>((resolve) => {
          if (!grpcServer) return resolve();
          grpcServer.tryShutdown(() => resolve());
        }),
      ]);
      await shadow.flush().catch(() => undefined);
      await pipeline.flush().catch((err: unknown) => logger.warn({ err }, 'prediction log: final flush failed'));
      for (const remove of observers) remove();
      leave();
      await deployments.close();
    },
  };
}

async function both(here: Promise<void>, others: Promise<void>): Promise<void> {
  await Promise.all([here, others]);
}

/** Evaluate alert rules inside the server (`alerts_interval_ms`, 0 = off); error rates come from the server's counters (every process's). */
function startAlerts(app: MonitoringParts, config: ServeConfig, group: ProcessGroup, metrics: ServingMetrics, logger: Logger, gauges: DriftGauges, destinations: WebhookDestinations, featureLookups: ServingParts['featureLookups']): AlertEngine | undefined {
  if (config.alertsIntervalMs <= 0) return undefined;
  const engine = new AlertEngine(app, {
    featureFreshness: featureLookups ? async () => (await featureLookups()).freshness() : undefined,
    delivery: { ...DEFAULT_DELIVERY, destinations },
    maxRows: config.monitoringMaxRows,
    driftOffThread: true,
    requestCounter: async (model) => countsFromPrometheus(await (await group.metrics(metrics.registry)).getSingleMetricAsString('ferry_requests_total'), model),
    onDrift: (report) => gauges.record(report),
    log: (msg, extra) => logger.info(extra ?? {}, msg),
  });
  engine.start(config.alertsIntervalMs);
  return engine;
}
