/**
 * The files of a JavaScript package (what the node and browser targets share): the bundled
 * code, the model's data, the parity vectors and their test, the declarations, package.json
 * and a README.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ferry } from '../core/errors.js';
import { FERRY_VERSION } from '../core/version.js';
import { bundleModule, type PackageModule } from './bundle.js';
import type { Narrowing } from './narrowing.js';
import { declarations } from './declarations.js';
import type { ExportFile, ExportModel, ExportOptions, ParityCheck } from './export-target.js';
import { PACKAGE_ASSETS, PACKAGE_FORMATS } from './formats.js';
import { packageReadme } from './package-readme.js';
import type { EdgeMeta, Provenance } from './package/types.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** npm's rules for a package name: lower case, URL-safe. */
export function packageName(model: string): string {
  return model.toLowerCase().replace(/[^a-z0-9._~-]/g, '-').replace(/^[._]/, 'm');
}

export function provenanceOf(model: ExportModel): Provenance {
  const v = model.version;
  return { model: v.model, version: v.version, aliases: v.aliases, format: v.format, digest: v.digest, exportedAt: new Date().toISOString(), ferryVersion: FERRY_VERSION, ...(model.quantized ? { quantized: model.quantized } : {}) };
}

/**
 * What a package's bundle leaves out: its model's narrowing (formats.ts), and the reporter
 * (about 0.9–1.0 KB of index.js gzipped) unless it is exported with --report-url.
 */
export function packageNarrowing(model: Narrowing | undefined, reports: boolean): Narrowing {
  return { ...model, stubs: [...(model?.stubs ?? []), ...(reports ? [] : ['edge/package/report'])] };
}

/** The package's files; `extra` names more bundled modules (e.g. the browser's worker). */
export async function packageFiles(model: ExportModel, target: string, options: ExportOptions, extra: readonly PackageModule[] = []): Promise<ExportFile[]> {
  const { version } = model;
  const encode = PACKAGE_FORMATS[version.format];
  if (!encode) throw ferry('FERRY_E_INTERNAL', { detail: `no package encoder for format "${version.format}"` });
  const provenance = provenanceOf(model);
  const packed = encode(model.artifact);
  const meta: EdgeMeta = { provenance, signature: version.signature, encoding: packed.encoding, ...(options.reportUrl ? { report: { url: options.reportUrl } } : {}) };
  const data = packed.encoding === 'text' ? packed.text : Buffer.from(packed.bytes).toString('base64');
  const narrowing = packageNarrowing(packed.narrowing, options.reportUrl !== undefined);
  const code = async (module: PackageModule, path: string): Promise<ExportFile> => ({ path, kind: 'js', bytes: text(await bundleModule(module, packed.evaluator ?? version.format, narrowing)) });
  const pkg = {
    name: packageName(version.model),
    version: `${version.version}.0.0`,
    description: `${version.model}:${version.version} exported by Ferry (${version.format}) for ${target}`,
    type: 'module',
    main: 'index.js',
    types: 'index.d.ts',
    exports: { '.': { types: './index.d.ts', default: './index.js' }, ...Object.fromEntries(extra.map((m) => [`./${m}.js`, `./${m}.js`])) },
    sideEffects: false,
    scripts: { test: 'node test.js' },
    ferry: provenance,
  };
  return [
    await code('index', 'index.js'),
    await code('check', 'check.js'),
    await code('test-main', 'test.js'),
    ...(await Promise.all(extra.map((m) => code(m, `${m}.js`)))),
    ...(await Promise.all((PACKAGE_ASSETS[version.format] ?? []).map(async (a): Promise<ExportFile> => ({ path: a.path, kind: 'wasm', bytes: await readFile(a.source()) })))),
    // Data modules: a JSON value and a base64 string, importable from Node, pages and workers alike.
    { path: 'model.js', kind: 'data', bytes: text(`export const meta = ${JSON.stringify(meta)};\nexport const data = ${JSON.stringify(data)};\n`) },
    { path: 'parity.js', kind: 'data', bytes: text(`export const vectors = ${JSON.stringify(model.parity)};\n`) },
    { path: 'index.d.ts', kind: 'text', bytes: text(declarations(version.signature, version.model, version.version)) },
    { path: 'package.json', kind: 'text', bytes: text(`${JSON.stringify(pkg, null, 2)}\n`) },
    { path: 'README.md', kind: 'text', bytes: text(packageReadme(model, target, pkg.name)) },
  ];
}

/** Run the package's test.js with this Node and read its report. */
export function runPackageTest(dir: string): Promise<ParityCheck> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(dir, 'test.js')], { cwd: dir, timeout: 120_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as ParityCheck);
      } catch {
        reject(ferry('FERRY_E_EXPORT_PARITY', { target: 'node', model: dir, detail: `test.js did not report (${err?.message ?? ''} ${stderr.slice(0, 500)})` }));
      }
    });
  });
}
