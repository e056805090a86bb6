/**
 * Narrowing a package's bundle to the code one model reaches. The server's engines reach their
 * parts through tables (model kernels, expression compilers, built-in functions, error codes),
 * which a bundler cannot cut; a package keeps each table's entries its model uses, and swaps a
 * module its model never reaches for a stand-in in ./package/stubs/. Every entry kept is the
 * server's own source, unchanged: the package runs the same code, only less of it. The package's
 * test.js (run by every export) proves each package gives the server's answers.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { ferry } from '../core/errors.js';

/** A table kept to some of its entries: a module under src/ (no extension), the table's name, the keys kept. */
export interface TableCut {
  readonly module: string;
  readonly table: string;
  readonly keep: ReadonlySet<string>;
}

/** What one package's bundle leaves out of the server's code. */
export interface Narrowing {
  readonly tables?: readonly TableCut[];
  /** Modules under src/ the model never reaches, each swapped for ./package/stubs/<its file name>. */
  readonly stubs?: readonly string[];
}

/** `name: value,` or `'name': value,` on one line: a table entry. */
const ENTRY = /^\s+(?:'([^']*)'|"([^"]*)"|([A-Za-z_$][\w$]*)):\s.*,$/;

/**
 * The module's source with table `table` kept to the entries named in `keep`. The table must be
 * written one entry a line (comments and blank lines allowed) up to a `}` in the first column;
 * anything else is refused, so a reshaped table fails the export instead of being cut wrongly.
 */
export function cutTable(source: string, table: string, keep: ReadonlySet<string>): string {
  const lines = source.split('\n');
  const head = new RegExp(`\\b(?:const|let|var)\\s+${table}\\b.*=\\s*\\{\\s*$`);
  const start = lines.findIndex((l) => head.test(l));
  if (start < 0) throw ferry('FERRY_E_INTERNAL', { detail: `table "${table}" not found as "const ${table} = {" on a line of its own` });
  const out = lines.slice(0, start + 1);
  let i = start + 1;
  for (; i < lines.length && !lines[i]!.startsWith('}'); i++) {
    const line = lines[i]!;
    const m = ENTRY.exec(line);
    if (m) {
      if (keep.has(m[1] ?? m[2] ?? m[3]!)) out.push(line);
    } else if (/^\s*(\/\/.*)?$/.test(line)) out.push(line);
    else throw ferry('FERRY_E_INTERNAL', { detail: `table "${table}" is not written one entry a line: ${line.trim().slice(0, 80)}` });
  }
  if (i === lines.length) throw ferry('FERRY_E_INTERNAL', { detail: `table "${table}" has no closing "}" in the first column` });
  return [...out, ...lines.slice(i)].join('\n');
}

/** Ferry's src/ (or dist/) folder, whether Ferry runs from TypeScript or from dist/. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A module under src/ as the file this Ferry runs: `.ts` from sources, `.js` from dist/. */
function moduleFile(module: string, exists: (path: string) => boolean): string {
  const ts = join(ROOT, `${module}.ts`);
  return exists(ts) ? ts : join(ROOT, `${module}.js`);
}

/** The esbuild plugin applying a narrowing (tables cut on load, stubs loaded in place of modules). */
export function narrowingPlugin(narrowing: Narrowing, exists: (path: string) => boolean): Plugin {
  const loads = new Map<string, () => { contents: string; resolveDir: string }>();
  const tables = new Map<string, TableCut[]>();
  for (const cut of narrowing.tables ?? []) tables.set(cut.module, [...(tables.get(cut.module) ?? []), cut]);
  for (const [module, cuts] of tables) {
    const file = moduleFile(module, exists);
    loads.set(file, () => ({ contents: cuts.reduce((source, c) => cutTable(source, c.table, c.keep), readFileSync(file, 'utf8')), resolveDir: dirname(file) }));
  }
  for (const module of narrowing.stubs ?? []) {
    const stub = moduleFile(`edge/package/stubs/${module.split('/').pop()!}`, exists);
    if (!exists(stub)) throw ferry('FERRY_E_INTERNAL', { detail: `no stand-in for ${module} in package/stubs/` });
    loads.set(moduleFile(module, exists), () => ({ contents: readFileSync(stub, 'utf8'), resolveDir: dirname(stub) }));
  }
  return {
    name: 'ferry-edge-narrowing',
    setup(b) {
      if (loads.size === 0) return;
      b.onLoad({ filter: /\.[jt]s$/ }, (args) => {
        const load = loads.get(args.path);
        return load ? { ...load(), loader: args.path.endsWith('.ts') ? 'ts' : 'js' } : undefined;
      });
    },
  };
}

/** The error catalog's module and table: a package keeps the codes its code can throw. */
export const ERROR_CATALOG = { module: 'core/errors', table: 'errorCatalog' } as const;

/** Error codes named in the given source files (every code a bundle can throw is written out in its sources). */
export function codesIn(files: readonly string[]): Set<string> {
  const codes = new Set<string>(['FERRY_E_INTERNAL']);
  for (const file of files) for (const m of readFileSync(file, 'utf8').matchAll(/FERRY_E_[A-Z0-9_]+/g)) codes.add(m[0]);
  return codes;
}

/** Whether `file` is the error catalog's module. */
export function isCatalog(file: string, exists: (path: string) => boolean): boolean {
  return file === moduleFile(ERROR_CATALOG.module, exists);
}
