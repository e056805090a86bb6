import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ferry } from '../../core/errors.js';
import { inspectPickle } from '../../runtimes/sklearn/inspect.js';
import { looksLikePickle } from '../../runtimes/sklearn/sklearn-runtime.js';
import { print, printJson, table, wantsJson, type CliContext } from '../context.js';

export function inspectCommand(program: Command, ctx: CliContext): void {
  program.command('inspect')
    .description('Show what a pickle or joblib file holds — every global it names (allowed or not), its arrays, its estimators — and whether Ferry can load it; nothing in the file is run and nothing is registered')
    .argument('<file>', 'a pickle.dump or joblib.dump file')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const bytes = await readFile(file).catch(() => {
        throw ferry('FERRY_E_FILE_NOT_FOUND', { path: file });
      });
      if (!looksLikePickle(bytes)) throw ferry('FERRY_E_USAGE', { detail: `"${file}" is not a pickle or joblib file; ferry inspect reads those (other formats: ferry register reads them directly).` });
      const report = await inspectPickle(bytes, file);
      if (wantsJson(cmd)) return printJson(ctx, report);
      const arrayBytes = report.arrays.reduce((a, b) => a + b.bytes, 0);
      print(ctx, [
        `${file}: ${report.container}${report.compression === 'none' ? '' : ` (${report.compression})`}, ${report.size} bytes of pickle`,
        '',
        'Globals:',
        table(['name', 'allowed', 'count'], report.globals.map((g) => [g.name, g.allowed ? 'yes' : 'NO — refused', g.count])),
        '',
        'Estimators:',
        ...report.estimators.map((l) => `  ${l}`),
        '',
        `Arrays: ${report.arrays.length}, ${arrayBytes} bytes`,
        table(['path', 'dtype', 'shape', 'bytes'], report.arrays.slice(0, 40).map((a) => [a.path, a.dtype, `[${a.shape.join(', ')}]`, a.bytes])),
        ...(report.arrays.length > 40 ? [`  … ${report.arrays.length - 40} more (--json lists all)`] : []),
        '',
        report.loadable ? 'Loadable: yes — `ferry register` will translate it into Ferry\'s model document.' : `Loadable: no — ${report.reason ?? ''}`,
      ].join('\n'));
    });
}
