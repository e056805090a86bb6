import { Command, CommanderError } from 'commander';
import { asFerryError, ExitCode } from '../core/errors.js';
import { FERRY_VERSION } from '../core/version.js';
import { alertsCommand } from './commands/alerts.js';
import { aliasCommand } from './commands/alias.js';
import { apikeyCommand } from './commands/apikey.js';
import { archiveCommand } from './commands/archive.js';
import { batchCommand } from './commands/batch.js';
import { bestCommand } from './commands/best.js';
import { compareCommand } from './commands/compare.js';
import { demoCommand } from './commands/demo.js';
import { monitorDriftCommand } from './commands/drift.js';
import { evaluateCommand } from './commands/evaluate.js';
import { feedbackCommand } from './commands/feedback.js';
import { gcCommand } from './commands/gc.js';
import { modelsCommand } from './commands/models.js';
import { monitorCommand } from './commands/monitor.js';
import { predictCommand } from './commands/predict.js';
import { profileCommand } from './commands/profile.js';
import { promoteCommand } from './commands/promote.js';
import { registerCommand } from './commands/register.js';
import { schedulerCommand } from './commands/scheduler.js';
import { serveCommand } from './commands/serve.js';
import { shadowCommand } from './commands/shadow.js';
import { streamCommand } from './commands/stream.js';
import { versionsCommand } from './commands/versions.js';
import type { CliContext } from './context.js';

const COMMANDS = [
  registerCommand,
  modelsCommand,
  versionsCommand,
  aliasCommand,
  archiveCommand,
  predictCommand,
  serveCommand,
  shadowCommand,
  apikeyCommand,
  gcCommand,
  // batch
  batchCommand,
  schedulerCommand,

  // stream
  streamCommand,

  // prediction log, feedback
  feedbackCommand,
  monitorCommand,

  // profile, drift, evaluate, compare, promote, alerts
  profileCommand,
  monitorDriftCommand,
  evaluateCommand,
  compareCommand,
  promoteCommand,
  bestCommand,
  alertsCommand,

  demoCommand,
];

/** Build the `ferry` program. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('ferry')
    .description('Ferry: register, version and serve machine-learning models from Node.js')
    .version(FERRY_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .exitOverride();
  for (const add of COMMANDS) add(program, ctx);
  for (const cmd of program.commands) applyExitOverride(cmd);
  return program;
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({});
  for (const sub of cmd.commands) applyExitOverride(sub);
}

/** Run the CLI; returns the process exit code (see docs/errors.md for their meaning). */
export async function main(argv: readonly string[], ctx: CliContext = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv]);
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    const error = asFerryError(err);
    if (argv.includes('--json')) ctx.stderr.write(`${JSON.stringify({ error: error.toJSON() })}\n`);
    else ctx.stderr.write(`error ${error.code}: ${error.message}\n`);
    if (error.code === 'FERRY_E_INTERNAL' && ctx.env.FERRY_DEBUG && err instanceof Error) ctx.stderr.write(`${err.stack ?? ''}\n`);
    return error.exitCode;
  }
}
