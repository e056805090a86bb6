/** Regenerate docs/cli.md from the commands' help. */
import { writeFileSync } from 'node:fs';
import { renderCliDoc } from '../src/cli/cli-doc.js';

writeFileSync(new URL('../docs/cli.md', import.meta.url), await renderCliDoc());
