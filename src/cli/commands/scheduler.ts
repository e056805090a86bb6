import type { Command } from 'commander';
import pino from 'pino';
import { loadBatchConfig } from '../../batch/config.js';
import { BatchScheduler } from '../../batch/scheduler.js';
import { withBatch } from './batch.js';
import type { CliContext } from '../context.js';

export function schedulerCommand(program: Command, ctx: CliContext): void {
  program.command('scheduler')
    .description('Run scheduled batch jobs (`ferry batch job schedule`, batch.jobs in ferry.yaml) until SIGTERM/SIGINT')
    .option('-c, --config <file>', 'ferry.yaml whose batch.jobs are saved and scheduled')
    .option('--poll-interval <ms>', 'how often schedules are re-read from the registry', '30000')
    .action(async (opts: { config?: string; pollInterval: string }) => {
      const declared = opts.config ? loadBatchConfig(opts.config) : [];
      const log = pino({ level: ctx.env.FERRY_LOG_LEVEL ?? 'info', base: { service: 'ferry-scheduler' } });
      await withBatch(ctx, undefined, async (options) => {
        const scheduler = new BatchScheduler({ ...options, log, declared, pollMs: Number(opts.pollInterval) || 30_000 });
        await scheduler.start();
        log.info({ jobs: [...scheduler.schedules.keys()] }, 'scheduler started');
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', () => resolve());
          process.once('SIGINT', () => resolve());
        });
        log.info('stopping: waiting for runs in progress');
        await scheduler.stop();
      });
    });
}
