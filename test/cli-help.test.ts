/**
 * `ferry --help` lists the commands from src/cli/help-summary.ts without loading their modules:
 * the text must be the one the commands themselves give, word for word.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildProgram, COMMAND_NAMES } from '../src/cli/main.js';
import { COMMAND_SUMMARY } from '../src/cli/help-summary.js';
import type { CliContext } from '../src/cli/context.js';

const ctx = { stdout: process.stdout, stderr: process.stderr, env: {} } as unknown as CliContext;

describe('ferry --help', () => {
  it('gives the same text from the summary table as from every command loaded (regenerate the table when it fails)', async () => {
    const full = await buildProgram(ctx);
    for (const args of [['--help'], ['-h'], []]) {
      const quick = await buildProgram(ctx, ['node', 'ferry', ...args]);
      assert.equal(quick.helpInformation(), full.helpInformation(), `ferry ${args.join(' ')}`);
    }
  });

  it('the summary names every top-level command, in the order the commands are added', async () => {
    const full = await buildProgram(ctx);
    assert.deepEqual(Object.keys(COMMAND_SUMMARY), full.commands.map((c) => c.name()));
    for (const name of COMMAND_NAMES) assert.ok(name in COMMAND_SUMMARY, name);
  });
});
