import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Ferry } from '../app.js';
import { FERRY_VERSION } from '../core/version.js';
import { ApiKeyAuth, openAuth, type Auth } from './auth.js';
import type { ServeConfig } from './config.js';
import type { ServingContext } from './context.js';
import { Deployments } from './deployments.js';
import { startGrpc } from './grpc/grpc-server.js';
import { adminRoutes } from './http/admin.js';
import { createHttpApp } from './http/app.js';
import { kserveV1Routes } from './http/kserve-v1.js';
import { mlflowRoutes } from './http/mlflow.js';
import { oipRoutes } from './http/oip.js';
import { opsRoutes } from './http/ops.js';
import { InferenceService } from './inference.js';
import type { ServingMetrics } from './metrics.js';

/** A running server. */
export interface RunningServer {
  readonly httpUrl: string;
  readonly grpcPort: number | null;
  readonly context: ServingContext;
  /** Stop accepting, let in-flight requests finish, release models. */
  close(): Promise<void>;
}

/** Wire the serving parts around an opened Ferry and start listening. */
export async function startServer(app: Ferry, config: ServeConfig, metrics: ServingMetrics, logger: Logger): Promise<RunningServer> {
  const deployments = new Deployments(app, config, logger, (d) => metrics.modelsLoaded.inc(d));
  const inference = new InferenceService(app, deployments, metrics);
  let auth: Auth = openAuth;
  let authRefresh: NodeJS.Timeout | undefined;
  if (config.auth) {
    const keys = new ApiKeyAuth(app.registry.store);
    await keys.refresh();
    authRefresh = setInterval(() => { keys.refresh().catch((err: unknown) => logger.warn({ err }, 'API key refresh failed')); }, config.pollIntervalMs);
    authRefresh.unref();
    auth = keys;
  }
  const context: ServingContext = { app, config, deployments, inference, metrics, auth, logger, version: FERRY_VERSION };

  await deployments.start();
  const httpState = { closing: false };
  const http: FastifyInstance = createHttpApp(config, logger, httpState);
  for (const routes of [oipRoutes, mlflowRoutes, kserveV1Routes, adminRoutes, opsRoutes]) routes(http, context);
  const address = await http.listen({ host: config.host, port: config.port });

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
      await http.close();
      await deployments.close();
      throw err;
    }
  }
  logger.info({ http: address, grpc: grpcPort, models: deployments.models, auth: auth.enabled, tls: config.tls !== undefined }, 'ferry serving');

  return {
    httpUrl: address,
    grpcPort,
    context,
    async close() {
      if (authRefresh) clearInterval(authRefresh);
      httpState.closing = true;
      await Promise.all([
        http.close(),
        new Promise<void>((resolve) => {
          if (!grpcServer) return resolve();
          grpcServer.tryShutdown(() => resolve());
        }),
      ]);
      await inference.close().catch(() => undefined);
      await deployments.close();
    },
  };
}
