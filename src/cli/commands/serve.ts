import cluster from 'node:cluster';
import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import pino, { type Logger } from 'pino';
import { openServing } from '../../main/ferry.js';
import { batchOverview } from '../../batch/overview.js';
import { startServeScheduler } from '../../batch/serve-hook.js';
import { loadConfig, type FerryConfig } from '../../core/config.js';
import { ferry } from '../../core/errors.js';
import { SLOT_ENV } from '../../serving/cluster/messages.js';
import { runPrimary } from '../../serving/cluster/primary.js';
import { clusterGroup } from '../../serving/cluster/worker-group.js';
import { LONE_PROCESS, type ProcessGroup } from '../../serving/process-group.js';
import { readConfigFile } from '../../core/config-file.js';
import { batchJobsOf } from '../../batch/config.js';
import { loadServeConfig, type ServeConfig, type ServeFlags } from '../../serving/config.js';
import { ServingMetrics } from '../../serving/metrics.js';
import { startServer } from '../../serving/server.js';
import { parseWatchedStream, streamOverview } from '../../stream/overview.js';
import { collect, type CliContext } from '../context.js';

export function serveCommand(program: Command, ctx: CliContext): void {
  program.command('serve')
    .description('Serve registered models over HTTP (Open Inference Protocol v2, MLflow, KServe v1) and gRPC')
    // No commander defaults: a flag given always wins over ferry.yaml, so an absent one must stay absent.
    .option('-p, --port <port>', 'HTTP port (0 = any free port; default: ferry.yaml\'s port, else 8080)')
    .option('--grpc-port <port>', 'gRPC port (0 = any free port, "off" = no gRPC; default: ferry.yaml\'s grpc_port, else 8081)')
    .option('--host <host>', 'address to bind', undefined)
    .option('-c, --config <file>', 'ferry.yaml: which models, batching, traffic, cache, auth, TLS (see docs/serving.md)')
    .option('--lazy', 'load models on their first request instead of at start')
    .option('--batching', 'dynamic batching for every model without its own `batching:` (the default)')
    .option('--no-batching', 'no dynamic batching for models without their own `batching:` (each request calls the runtime)')
    .option('--auth', 'require API keys (create them with `ferry apikey create`)')
    .option('--api-keys-file <file>', 'also accept the keys in this file (one "<key> [predict|admin]" a line, e.g. a mounted Secret)')
    .option('--insecure-no-auth', 'allow listening on a non-loopback --host without --auth (anyone who can reach the port can predict, move aliases and unload models)')
    .option('--tls-cert <file>', 'serve HTTPS and gRPC over TLS with this certificate (PEM)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--body-limit <bytes>', 'largest request body accepted (413 beyond it)')
    .option('--poll-interval <ms>', 'how often alias moves in the registry are checked')
    .option('--processes <n>', 'HTTP/gRPC server processes sharing the ports, each with its own models ("auto" = one per CPU this process may use; default 1)')
    .option('--runtime-workers <n>', 'worker threads per loaded model, so inference never blocks the event loop (0 = main thread)', undefined)
    .option('--no-scheduler', 'do not run scheduled batch jobs in this server')
    .option('--alerts-interval <ms>', 'evaluate alert rules (`ferry alerts add`) this often inside the server; 0 = off (default 60000)')
    .option('--watch-stream <url#group>', 'show this stream consumer group (lag, consumers, dead letters) on the dashboard\'s Streams page, e.g. redis://127.0.0.1:6379/orders#ferry-churn (repeatable)', collect)
    .option('--stream-state <url>', 'Redis holding stream consumers\' heartbeats (MQTT groups)', 'redis://127.0.0.1:6379')
    .option('--log-predictions [share]', 'log predictions of every model to the prediction log (share of requests, default 1; see docs/monitoring.md)')
    .action((opts: ServeFlags & ServeExtras) => runServe(ctx, opts));
}

/** Flags of `ferry serve` beyond the server's own config. */
interface ServeExtras {
  scheduler?: boolean;
  watchStream?: string[];
  streamState?: string;
}

/** Start the server and run until SIGTERM/SIGINT (also used by `ferry demo --serve`). */
export async function runServe(ctx: CliContext, opts: ServeFlags & ServeExtras): Promise<void> {
  const config = loadConfig(ctx.env);
  // ferry.yaml is read once: the server's settings and the scheduler's jobs are its sections.
  const file = opts.config ? readConfigFile(opts.config) : undefined;
  const serve = loadServeConfig(opts, file);
  const slot = cluster.isWorker ? Number(ctx.env[SLOT_ENV] ?? 0) : 0;
  const logger = pino({ level: ctx.env.FERRY_LOG_LEVEL ?? 'info', base: { service: 'ferry', ...(slot > 0 ? { process: slot } : {}) } });
  if (slot === 0 && serve.processes > 1) {
    // The primary opens nothing: each process it forks runs this same command as slot 1…N.
    const { started, code } = await runPrimary(serve.processes, logger);
    if (!started) throw ferry('FERRY_E_SERVER_PROCESS_FAILED', { code });
    logger.info({ code }, 'stopped');
    if (code !== 0) process.exitCode = code;
    return;
  }
  const group = slot > 0 ? clusterGroup(slot, process as Parameters<typeof clusterGroup>[1]) : LONE_PROCESS;
  try {
    await serveProcess(serve, file ? batchJobsOf(file) : [], opts, config, logger, group);
  } finally {
    // A cluster worker's IPC channel keeps its event loop alive, also after a failed start. Leaving
    // through the worker (not process.disconnect) keeps node:cluster from exiting with code 0 at once.
    if (slot > 0 && cluster.worker?.isConnected()) cluster.worker.disconnect();
  }
}

/** One server process: the whole server, or one of `--processes N` (then `group` says which). */
async function serveProcess(serve: ServeConfig, declared: ReturnType<typeof batchJobsOf>, opts: ServeExtras, config: FerryConfig, logger: Logger, group: ProcessGroup): Promise<void> {
  // Set before the first request; V8 reads these flags each time the reducer would start and
  // each time a full GC sets the next limit.
  if (!serve.memoryReducer) setFlagsFromString('--no-memory-reducer');
  if (serve.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${serve.heapGrowingPercent}`);
  const metrics = new ServingMetrics(undefined, group.slot);
  const app = await openServing(config, serve, metrics, logger);
  const watched = (opts.watchStream ?? []).map(parseWatchedStream);
  const streams = streamOverview(watched, opts.streamState ?? 'redis://127.0.0.1:6379');
  const operations = { batch: (limit: number) => batchOverview(app.database, limit), streams };
  let server;
  try {
    server = await startServer(app, serve, metrics, logger, operations, group);
  } catch (err) {
    await app.close();
    throw err;
  }
  // Scheduled batch jobs run beside the server (in one process of a group); their lease keeps replicas from overlapping.
  let scheduler;
  try {
    scheduler = opts.scheduler === false || !group.lead ? undefined : await startServeScheduler(app, declared, logger);
  } catch (err) {
    await server.close();
    await app.close();
    throw err;
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      // A process of a group can get two signals (Ctrl-C reaches the whole process group, then the primary forwards SIGTERM): drain once.
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down: draining in-flight requests');
      resolve();
    };
    if (group.slot === 0) {
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    } else {
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      // A primary that is killed closes the IPC channel: node:cluster then exits this process at once.
    }
  });
  await scheduler?.stop();
  await server.close();
  await app.close();
  logger.info('stopped');
}
