import { Command, CommanderError, Help } from 'commander';
import { asFerryError, ExitCode } from '../core/errors.js';
import { FERRY_VERSION } from '../core/version.js';
import type { CliContext } from './context.js';
import { COMMAND_SUMMARY } from './help-summary.js';

/** Adds one command (or a group's subcommands) to the program. */
type AddCommand = (program: Command, ctx: CliContext) => void;

/**
 * The table of commands, in the order `ferry --help` lists them. Each row names the top-level
 * commands its module adds and loads that module only when one of them runs, so a command pays
 * only for its own dependencies (`ferry --version` loads none; `--help` and docs load all).
 */
const COMMANDS: readonly { readonly names: readonly string[]; readonly load: () => Promise<AddCommand> }[] = [
  { names: ['register'], load: async () => (await import('./commands/register.js')).registerCommand },
  { names: ['inspect'], load: async () => (await import('./commands/inspect.js')).inspectCommand },
  { names: ['models'], load: async () => (await import('./commands/models.js')).modelsCommand },
  { names: ['versions'], load: async () => (await import('./commands/versions.js')).versionsCommand },
  { names: ['alias'], load: async () => (await import('./commands/alias.js')).aliasCommand },
  { names: ['traffic'], load: async () => (await import('./commands/traffic.js')).trafficCommand },
  { names: ['archive', 'delete'], load: async () => (await import('./commands/archive.js')).archiveCommand },
  { names: ['predict'], load: async () => (await import('./commands/predict.js')).predictCommand },
  { names: ['explain'], load: async () => (await import('./commands/explain.js')).explainCommand },
  { names: ['serve'], load: async () => (await import('./commands/serve.js')).serveCommand },
  { names: ['shadow'], load: async () => (await import('./commands/shadow.js')).shadowCommand },
  { names: ['apikey'], load: async () => (await import('./commands/apikey.js')).apikeyCommand },
  { names: ['gc'], load: async () => (await import('./commands/gc.js')).gcCommand },
  { names: ['batch'], load: async () => (await import('./commands/batch.js')).batchCommand },
  { names: ['scheduler'], load: async () => (await import('./commands/scheduler.js')).schedulerCommand },
  { names: ['stream'], load: async () => (await import('./commands/stream.js')).streamCommand },
  { names: ['feedback'], load: async () => (await import('./commands/feedback.js')).feedbackCommand },
  { names: ['features'], load: async () => (await import('./commands/features.js')).featuresCommand },
  { names: ['monitor'], load: async () => (await import('./commands/monitor.js')).monitorCommand },
  { names: ['profile'], load: async () => (await import('./commands/profile.js')).profileCommand },
  { names: ['monitor'], load: async () => (await import('./commands/drift.js')).monitorDriftCommand },
  { names: ['evaluate'], load: async () => (await import('./commands/evaluate.js')).evaluateCommand },
  { names: ['compare'], load: async () => (await import('./commands/compare.js')).compareCommand },
  { names: ['promote'], load: async () => (await import('./commands/promote.js')).promoteCommand },
  { names: ['best'], load: async () => (await import('./commands/best.js')).bestCommand },
  { names: ['alerts'], load: async () => (await import('./commands/alerts.js')).alertsCommand },
  { names: ['export'], load: async () => (await import('./commands/export.js')).exportCommand },
  { names: ['deploy'], load: async () => (await import('./commands/deploy.js')).deployCommand },
  { names: ['demo'], load: async () => (await import('./commands/demo.js')).demoCommand },
];

/** The top-level command names of the table (a test checks each row adds exactly these). */
export const COMMAND_NAMES: readonly string[] = [...new Set(COMMANDS.flatMap((c) => c.names))];

/**
 * The rows a command line needs: none for `--version` alone, the named command's rows, and
 * every row otherwise (`--help`, no command, `help`, an unknown command and its suggestions).
 */
function rowsFor(argv: readonly string[] | undefined): typeof COMMANDS {
  if (!argv) return COMMANDS;
  const args = argv.slice(2);
  const first = args[0];
  if (first === undefined) return COMMANDS;
  if (args.length === 1 && (first === '--version' || first === '-V')) return [];
  const rows = COMMANDS.filter((c) => c.names.includes(first));
  return rows.length > 0 ? rows : COMMANDS;
}

/**
 * Build the `ferry` program: with `argv`, only the commands that command line runs; without,
 * every command (docs/cli.md).
 */
export async function buildProgram(ctx: CliContext, argv?: readonly string[]): Promise<Command> {
  const program = new Command('ferry')
    .description('Ferry: register, version and serve machine-learning models from Node.js')
    .version(FERRY_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .exitOverride();
  if (argv && isTopLevelHelp(argv)) {
    // The list of commands alone: from the summary table, without loading any command module.
    for (const [name, [, description]] of Object.entries(COMMAND_SUMMARY)) program.command(name).description(description);
    const plain = new Help();
    program.configureHelp({ subcommandTerm: (cmd) => COMMAND_SUMMARY[cmd.name()]?.[0] ?? plain.subcommandTerm(cmd) });
    return program;
  }
  const adders = await Promise.all(rowsFor(argv).map((c) => c.load()));
  for (const add of adders) add(program, ctx);
  for (const cmd of program.commands) applyExitOverride(cmd);
  return program;
}

/** `ferry`, `ferry --help` or `ferry -h`: the top-level help and nothing else. */
function isTopLevelHelp(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  return args.length === 0 || (args.length === 1 && (args[0] === '--help' || args[0] === '-h'));
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  cmd.configureOutput({});
  for (const sub of cmd.commands) applyExitOverride(sub);
}

/** Run the CLI; returns the process exit code (see docs/errors.md for their meaning). */
export async function main(argv: readonly string[], ctx: CliContext = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  try {
    const program = await buildProgram(ctx, argv);
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
