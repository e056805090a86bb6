/** docs/cli.md is the commands' own help; every command has a description and --help works. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderCliDoc } from '../src/cli/cli-doc.js';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/env.js';

describe('CLI reference', () => {
  it('docs/cli.md is current (run `npm run docs:cli` after changing a command)', async () => {
    assert.equal(readFileSync(join(ROOT, 'docs/cli.md'), 'utf8'), await renderCliDoc());
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
