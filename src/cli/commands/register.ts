import type { Command } from 'commander';
import { readFrame } from '../../data/readers.js';
import { storeReference } from '../../monitoring/profile-store.js';
import { collect, collectList, parseInputColumns, parseNumberPairs, parsePairs, print, printJson, wantsJson, withFerry, type CliContext } from '../context.js';
import { ferry } from '../../core/errors.js';
import { signatureLines } from '../format.js';
import { checkBeforeRegistering } from './register-check.js';

interface RegisterOptions {
  name: string;
  format?: string;
  inputColumns?: string[];
  metric?: string[];
  param?: string[];
  tag?: string[];
  alias?: string[];
  description?: string;
  trainingData?: string;
  codeRef?: string;
  parentVersion?: string;
  reference?: string;
  referenceIgnore?: string[];
  sample?: string;
  expected?: string;
  tolerance?: string;
  features?: string;
}

export function registerCommand(program: Command, ctx: CliContext): void {
  program.command('register')
    .description('Register a model artifact as the next version of a model')
    .argument('<file>', 'the model artifact (ONNX, a PMML 3.x–4.4 .pmml/.xml document, an XGBoost save_model .json/.ubj file, a LightGBM save_model .txt file, a scikit-learn pickle or joblib file — read without Python, translated into Ferry\'s model document)')
    .requiredOption('-n, --name <model>', 'model name (created on first registration)')
    .option('--format <format>', 'artifact format: onnx, pmml, xgboost, lightgbm or sklearn (detected from the content when omitted)')
    .option('--input-columns <input=cols>', 'data columns that fill an input, in order: input=a,b,c (repeat per input)', collect)
    .option('--metric <k=v>', 'a numeric metric, e.g. auc=0.97 (repeatable)', collect)
    .option('--param <k=v>', 'a training parameter (repeatable)', collect)
    .option('--tag <k=v>', 'a tag on the version (repeatable)', collect)
    .option('--alias <alias>', 'point this alias at the new version (repeatable)', collect)
    .option('--description <text>', 'what this version is')
    .option('--training-data <ref>', 'lineage: reference to the training data')
    .option('--code-ref <ref>', 'lineage: reference to the training code (commit, URL)')
    .option('--parent-version <n>', 'lineage: the version this one derives from')
    .option('--reference <data>', 'profile this training/validation data (.csv, .jsonl, .json) and its predictions as the drift baseline')
    .option('--reference-ignore <cols>', 'columns of --reference that are not model inputs (keys, the label), repeatable or a,b', collectList)
    .option('--sample <data>', 'rows to score before registering (.csv, .jsonl, .json); with --expected, registration is refused when Ferry\'s answers differ')
    .option('--expected <data>', 'the expected outputs of the --sample rows, one row each: a column per output (label, prediction), or one column')
    .option('--tolerance <x>', 'relative tolerance for numeric outputs in the --expected check', '1e-9')
    .option('--features <service>', 'the feature service that fills this version\'s inputs from entity keys (ferry features apply)')
    .option('--json', 'print the new version as JSON')
    .action(async (file: string, opts: RegisterOptions, cmd: Command) => {
      // Read the reference first, so a bad path fails before anything is registered.
      const reference = opts.reference ? await readFrame(opts.reference) : undefined;
      if ((opts.sample === undefined) !== (opts.expected === undefined)) throw ferry('FERRY_E_USAGE', { detail: '--sample and --expected go together.' });
      const check = opts.sample && opts.expected
        ? { sample: await readFrame(opts.sample), expected: await readFrame(opts.expected), samplePath: opts.sample, expectedPath: opts.expected, tolerance: Number(opts.tolerance ?? '1e-9') }
        : undefined;
      // Checked before anything is registered: the file is loaded as registration will load it.
      if (check) await checkBeforeRegistering(file, opts.format, opts.name, check);
      const version = await withFerry(ctx, async (app, config) => {
        // Checked first: a version is never left registered without the binding asked for.
        if (opts.features) await app.features.requireService(opts.features);
        const registered = await app.registry.register({
          path: file,
          name: opts.name,
          ...(opts.format ? { format: opts.format } : {}),
          ...(opts.inputColumns ? { inputColumns: parseInputColumns(opts.inputColumns) ?? {} } : {}),
          metrics: parseNumberPairs(opts.metric, '--metric'),
          params: parsePairs(opts.param, '--param'),
          tags: parsePairs(opts.tag, '--tag'),
          aliases: opts.alias ?? [],
          lineage: {
            ...(opts.trainingData ? { trainingData: opts.trainingData } : {}),
            ...(opts.codeRef ? { code: opts.codeRef } : {}),
            ...(opts.parentVersion ? { parentVersion: Number(opts.parentVersion) } : {}),
          },
          ...(opts.description ? { description: opts.description } : {}),
          actor: config.actor,
        });
        if (reference && opts.reference) await storeReference(app, registered, reference, opts.reference, opts.referenceIgnore ?? [], config.actor);
        if (opts.features) await app.features.bind(registered.model, registered.version, opts.features, config.actor);
        return registered;
      });
      if (wantsJson(cmd)) return printJson(ctx, version);
      const aliases = version.aliases.length ? ` (${version.aliases.map((a) => `@${a}`).join(', ')})` : '';
      print(ctx, [
        `Registered ${version.model}:${version.version}${aliases} — ${version.format}, ${version.digest}`,
        ...signatureLines(version.signature),
        ...(opts.reference ? [`  reference profile stored from ${opts.reference}`] : []),
        ...(opts.features ? [`  inputs looked up from feature service "${opts.features}" by entity key`] : []),
        ...(opts.sample ? [`  checked: Ferry's predictions for ${opts.sample} match ${opts.expected ?? ''}`] : []),
        `Try: ferry predict ${version.model}:${version.version} --input <data.csv>`,
      ].join('\n'));
    });
}
