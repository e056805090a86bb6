// Lint: type-aware rules that catch what strict tsc does not — floating promises, `any`,
// and imports that cross layer boundaries the wrong way (see docs/design/foundation.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Packages that src/vendor bundles at build: imported through their vendor module only.
const vendored = [{ name: 'kysely', message: 'Import kysely from src/vendor/kysely.js (bundled into one file at build).' }];

const layerRule = (from, forbidden) => ({
  files: [`src/${from}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      paths: vendored,
      patterns: forbidden.map((layer) => ({ group: [`**/${layer}/*`, `../${layer}/*`], message: `src/${from} must not import from src/${layer} (layering).` })),
    }],
  },
});

export default tseslint.config(
  // Type-aware rules need the TypeScript project: plain JS (the bin shim, this file, the tsx worker bootstrap) is left out.
  { ignores: ['dist/**', 'web/**', 'node_modules/**', 'fixtures/**', 'scripts/fixtures/**', '**/*.mjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', {
        selector: "ThrowStatement > NewExpression[callee.name='Error']",
        message: 'Throw a FerryError from the catalog (src/core/errors.ts), not a bare Error.',
      }],
    },
  },
  // Layering: the core knows nothing above it; runtimes and stores know only the core; the
  // scoring layer (Pipeline, Deployments, Scorer) sits on registry and runtimes; transports and
  // monitoring sit on scoring; the composition root (src/main) sits on everything and only the
  // CLI imports it.
  layerRule('core', ['registry', 'artifacts', 'runtimes', 'scoring', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'explain', 'main']),
  layerRule('artifacts', ['registry', 'runtimes', 'scoring', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'explain', 'main']),
  layerRule('runtimes', ['registry', 'artifacts', 'scoring', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'explain', 'main']),
  layerRule('registry', ['runtimes', 'scoring', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'explain', 'main']),
  layerRule('scoring', ['data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'main']),
  layerRule('data', ['registry', 'artifacts', 'runtimes', 'scoring', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'explain', 'main']),
  // explain: explanations read runtimes' model structures; the scoring layer calls them.
  layerRule('explain', ['registry', 'artifacts', 'scoring', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'main']),
  // batch and stream sit on the scoring core and the data layer; servers and the CLI call them, not the reverse.
  layerRule('batch', ['cli', 'serving', 'stream', 'main']),
  layerRule('stream', ['cli', 'serving', 'batch', 'main']),
  // monitoring may use core, registry, artifacts, runtimes, scoring and data.
  layerRule('monitoring', ['serving', 'cli', 'batch', 'stream', 'main']),
  // features: declarations, stores and lookups sit on the scoring core, the registry and batch's DuckDB helpers; transports call them.
  layerRule('features', ['cli', 'serving', 'stream', 'monitoring', 'main']),
  // The servers are transports: they never reach another transport or the composition root.
  layerRule('serving', ['cli', 'batch', 'stream', 'main']),
  // edge: exports sit on the scoring core, the registry and the data layer, like batch and stream.
  layerRule('edge', ['cli', 'serving', 'batch', 'stream', 'monitoring', 'main']),
  // The code bundled into exported packages runs in browsers and workers: no Node APIs, no stores.
  {
    files: ['src/edge/package/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*'], message: 'Package code runs in browsers and workers: no Node APIs.' },
          ...['registry', 'artifacts', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'main'].map((layer) => ({ group: [`**/${layer}/*`], message: `Package code must not import src/${layer} (it is bundled into exported packages).` })),
        ],
      }],
    },
  },
  { files: ['src/{cli,main}/**/*.ts'], rules: { 'no-restricted-imports': ['error', { paths: vendored }] } },
  // Any other area (new folders included) stays below the composition root and the CLI.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/{core,artifacts,runtimes,registry,scoring,data,explain,batch,stream,monitoring,serving,edge,features,cli,main,vendor}/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: vendored,
        patterns: ['main', 'cli'].map((layer) => ({ group: [`**/${layer}/*`, `../${layer}/*`], message: `only src/cli imports src/${layer} (layering).` })),
      }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      'no-restricted-syntax': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
