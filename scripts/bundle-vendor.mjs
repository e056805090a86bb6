// Build step after tsc: each module of src/vendor re-exports one package; its compiled form in
// dist/vendor is replaced by that package bundled into one file, so a command resolves one
// module instead of hundreds (src/vendor/kysely.ts says why). Types still come from the package.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const entries = readdirSync(join(root, 'src/vendor')).filter((f) => f.endsWith('.ts')).map((f) => join(root, 'src/vendor', f));
await build({
  entryPoints: entries,
  outdir: join(root, 'dist/vendor'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
