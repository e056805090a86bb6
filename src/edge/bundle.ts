/**
 * Bundles the package's code from Ferry's own sources (./package/) with esbuild: the server's
 * scoring steps and the runtime of one format, minified into one dependency-free ES module.
 * The bundle is made at export time from the very files the server runs, so the package
 * cannot drift from the server's evaluator.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { ferry } from '../core/errors.js';
import { codesIn, ERROR_CATALOG, isCatalog, narrowingPlugin, type Narrowing } from './narrowing.js';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'package');

/** Package modules bundled on their own: each becomes one file of the package. */
export type PackageModule = 'index' | 'check' | 'test-main' | 'worker' | 'client';

/** Files every package module may import from its neighbours at run time (left as imports). */
const SIBLINGS = /^\.\/(index|model|parity|check|worker)\.js$/;

/** A source file of ./package/, whether Ferry runs from TypeScript (tests) or from dist/. */
function source(relative: string): string {
  const ts = join(PACKAGE_DIR, `${relative}.ts`);
  return existsSync(ts) ? ts : join(PACKAGE_DIR, `${relative}.js`);
}

/** `./evaluator.js` → the format's evaluator; the package's sibling modules stay imports. */
function packagePlugin(format: string, entry: PackageModule): Plugin {
  return {
    name: 'ferry-edge-package',
    setup(b) {
      b.onResolve({ filter: /^\.\/evaluator\.js$/ }, () => ({ path: source(`evaluators/${format}`) }));
      // ONNX: the server's runtime code on onnxruntime-web's WebAssembly build (same API as onnxruntime-node),
      // found from Ferry's own folder (esbuild's `alias` would look in the working directory of the export).
      b.onResolve({ filter: /^onnxruntime-node$/ }, (args) => b.resolve('onnxruntime-web/wasm', { kind: args.kind, resolveDir: PACKAGE_DIR }));
      b.onResolve({ filter: SIBLINGS }, (args) => {
        const name = SIBLINGS.exec(args.path)?.[1];
        if (dirname(args.importer) !== PACKAGE_DIR || name === entry) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * One module of a package for a model of `format`, as minified ES2022 source text: the server's
 * code narrowed to what the model reaches (`narrowing`), and the error catalog to the codes that
 * code can throw (a first pass finds the modules the bundle holds, a second drops the other codes).
 */
export async function bundleModule(entry: PackageModule, format: string, narrowing: Narrowing = {}): Promise<string> {
  return (await bundleWithSizes(entry, format, narrowing, false)).text;
}

/**
 * `bundleModule`, and with `sizes` the minified bytes each source module contributes to it
 * (esbuild's metafile, paths relative to the working directory): what bench/edge-pmml-modules.ts prints.
 */
export async function bundleWithSizes(entry: PackageModule, format: string, narrowing: Narrowing, sizes: boolean): Promise<{ text: string; bytes: ReadonlyMap<string, number> }> {
  if (!existsSync(source(`evaluators/${format}`))) throw ferry('FERRY_E_INTERNAL', { detail: `no edge evaluator for format "${format}"` });
  const first = await bundleOnce(entry, format, narrowing, true);
  const files = Object.keys(first.metafile?.inputs ?? {}).map((f) => resolve(f)).filter((f) => existsSync(f) && !isCatalog(f, existsSync));
  const codes = { ...ERROR_CATALOG, keep: codesIn(files) };
  const result = await bundleOnce(entry, format, { ...narrowing, tables: [...(narrowing.tables ?? []), codes] }, sizes);
  const file = result.outputFiles[0];
  if (!file) throw ferry('FERRY_E_INTERNAL', { detail: `esbuild produced no output for ${entry}` });
  const inputs = Object.values(result.metafile?.outputs ?? {})[0]?.inputs ?? {};
  return { text: file.text, bytes: new Map(Object.entries(inputs).map(([f, v]) => [f, v.bytesInOutput])) };
}

function bundleOnce(entry: PackageModule, format: string, narrowing: Narrowing, metafile: boolean) {
  return build({
    entryPoints: [source(entry)],
    bundle: true,
    write: false,
    metafile,
    format: 'esm',
    platform: entry === 'test-main' ? 'node' : 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [packagePlugin(format, entry), narrowingPlugin(narrowing, existsSync)],
    // Node built-ins stay imports (the ONNX evaluator reads its .wasm with node:fs only when running under Node).
    external: ['node:*'],
  });
}
