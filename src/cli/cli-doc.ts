import type { Command } from 'commander';
import { buildProgram } from './main.js';

/** docs/cli.md, generated from the commands' own help (`npm run docs:cli`; a test checks it is current). */
export async function renderCliDoc(): Promise<string> {
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  const program = await buildProgram({ stdout: sink, stderr: sink, env: {} });
  // A fixed width, so the page does not depend on the terminal it was generated in.
  const fixWidth = (cmd: Command): void => { cmd.configureHelp({ helpWidth: 80 }); cmd.commands.forEach(fixWidth); };
  fixWidth(program);
  const sections: string[] = [];
  const walk = (cmd: Command, path: string[]) => {
    for (const sub of cmd.commands) {
      const name = [...path, sub.name()];
      sections.push(`## ferry ${name.join(' ')}`, '', '```', sub.helpInformation({ error: false }).trimEnd(), '```', '');
      walk(sub, name);
    }
  };
  walk(program, []);
  return [
    '# CLI reference',
    '',
    '<!-- Generated from the commands\' --help by `npm run docs:cli`; test/cli-doc.test.ts fails when this page is stale. -->',
    '',
    'Every command prints tables for people by default and JSON with `--json`. Errors go to',
    'standard error as `error <CODE>: <message>` (JSON with `--json`) and set the exit code listed',
    'in [errors.md](errors.md#cli-exit-codes).',
    '',
    '```',
    program.helpInformation({ error: false }).trimEnd(),
    '```',
    '',
    ...sections,
  ].join('\n');
}
