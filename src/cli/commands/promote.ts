import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { readFrame } from '../../data/readers.js';
import { parseWindow } from '../../monitoring/drift-run.js';
import { parseGate, promote } from '../../monitoring/promote.js';
import { collect, collectList, print, printJson, wantsJson, withFerry, type CliContext } from '../context.js';
import { driftOptions } from './drift.js';

interface PromoteOptions {
  to: string;
  require?: string[];
  data?: string;
  label?: string;
  ignore?: string[];
  window: string;
  last?: string;
  test?: string;
  threshold?: string;
  share?: string;
}

export function promoteCommand(program: Command, ctx: CliContext): void {
  program.command('promote')
    .description('Move an alias (e.g. champion) to a version only when every gate holds; the verdicts are recorded in the alias history')
    .argument('<model>', 'model name')
    .argument('<version>', 'the candidate version number')
    .option('--to <alias>', 'the alias to move', 'champion')
    .option('--require <gate>', 'a gate: "<metric> >= champion.<metric>", "<metric> >= 0.9" (>, >=, <, <=) or "no-drift" (repeatable)', collect)
    .option('--data <file>', 'labelled data: metrics are computed on it (with --label) and no-drift tests it')
    .option('--label <col>', 'the label column of --data')
    .option('--ignore <cols>', 'other columns of --data that are not model inputs, repeatable or a,b', collectList)
    .option('--window <duration>', 'no-drift without --data: logged traffic of the model over this duration', '24h')
    .option('--last <n>', 'no-drift without --data: the newest n logged predictions instead of --window')
    .option('--test <name>', 'no-drift: force one drift test for every column')
    .option('--threshold <x>', 'no-drift: the test threshold')
    .option('--share <x>', 'no-drift: the drifted share that counts as drift', '0.5')
    .option('--json', 'print the outcome as JSON')
    .action(async (model: string, versionText: string, opts: PromoteOptions, cmd: Command) => {
      const version = Number(versionText);
      if (!Number.isInteger(version) || version < 1) throw ferry('FERRY_E_USAGE', { detail: `version "${versionText}" must be a version number (see \`ferry versions ${model}\`).` });
      const gates = (opts.require ?? []).map(parseGate);
      if (opts.label && !opts.data) throw ferry('FERRY_E_USAGE', { detail: '--label needs --data.' });
      const frame = opts.data ? await readFrame(opts.data) : undefined;
      const last = opts.last === undefined ? undefined : Number(opts.last);
      const drift = driftOptions(opts);
      const outcome = await withFerry(ctx, (app, config) => promote(app, {
        model, version, alias: opts.to, gates, actor: config.actor,
        data: frame ? { frame, label: opts.label, ignore: opts.ignore ?? [] } : undefined,
        window: last !== undefined ? { last } : { sinceMs: Date.now() - parseWindow(opts.window) },
        drift,
      }));
      if (wantsJson(cmd)) return printJson(ctx, outcome);
      for (const g of outcome.gates) print(ctx, `  ✓ ${g.gate}: ${g.detail}`);
      print(ctx, `Promoted ${model}:${version} to @${opts.to}${outcome.champion !== null ? ` (was ${outcome.champion})` : ''}.`);
    });
}
