/** docs/cli.md is the commands' own help; every command has a description and --help works. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderCliDoc } from '../src/cli/cli-doc.js';
import { buildProgram, COMMAND_NAMES } from '../src/cli/main.js';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/env.js';

describe('CLI reference', () => {
  it('docs/cli.md is current (run `npm run docs:cli` after changing a command)', async () => {
    assert.equal(readFileSync(join(ROOT, 'docs/cli.md'), 'utf8'), await renderCliDoc());
  });
  it('the lazy command table names exactly the commands its modules add (so each command loads only its own module)', async () => {
    const sink = { write: () => true } as unknown as NodeJS.WritableStream;
    const ctx = { stdout: sink, stderr: sink, env: {} };
    const all = await buildProgram(ctx);
    assert.deepEqual([...COMMAND_NAMES].sort(), all.commands.map((c) => c.name()).sort());
    for (const name of COMMAND_NAMES) {
      const one = await buildProgram(ctx, ['node', 'ferry', name]);
      const loaded = one.commands.map((c) => c.name());
      assert.ok(loaded.includes(name) && loaded.length < COMMAND_NAMES.length, `ferry ${name} loads its own module only, not every command: ${loaded.join(', ')}`);
      assert.equal(one.commands.find((c) => c.name() === name)!.helpInformation(), all.commands.find((c) => c.name() === name)!.helpInformation(), `ferry ${name} --help is the same alone`);
    }
    assert.deepEqual((await buildProgram(ctx, ['node', 'ferry', '--version'])).commands, [], '--version loads no command');
  });
  it('--help exits 0, an unknown option exits 2 (usage)', async () => {
    const help = await runCli(['predict', '--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--input <file>/);
    const bad = await runCli(['predict', 'm', '--input', 'x.csv', '--nope'], {});
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option '--nope'/);
  });
});
