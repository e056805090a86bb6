// Lint: type-aware rules that catch what strict tsc does not — floating promises, `any`,
// and imports that cross layer boundaries the wrong way (see docs/design/foundation.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layerRule = (from, forbidden) => ({
  files: [`src/${from}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: forbidden.map((layer) => ({ group: [`**/${layer}/*`, `../${layer}/*`], message: `src/${from} must not import from src/${layer} (layering).` })),
    }],
  },
});

export default tseslint.config(
  // Type-aware rules need the TypeScript project: plain JS (the bin shim, this file, the tsx worker bootstrap) is left out.
  { ignores: ['dist/**', 'node_modules/**', 'fixtures/**', 'scripts/fixtures/**', '**/*.mjs', '**/*.js'] },
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
  // Layering: the core knows nothing above it; runtimes and stores know only the core;
  // only the CLI (and later the servers) sit on top.
  layerRule('core', ['registry', 'artifacts', 'runtimes', 'scoring', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'explain']),
  layerRule('artifacts', ['registry', 'runtimes', 'scoring', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'explain']),
  layerRule('runtimes', ['registry', 'artifacts', 'scoring', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'explain']),
  layerRule('registry', ['runtimes', 'scoring', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'explain']),
  layerRule('scoring', ['data', 'cli', 'batch', 'stream', 'monitoring', 'serving']),
  layerRule('data', ['registry', 'artifacts', 'runtimes', 'scoring', 'cli', 'batch', 'stream', 'monitoring', 'serving', 'explain']),
  // explain: explanations read runtimes' model structures; the scoring layer calls them.
  layerRule('explain', ['registry', 'artifacts', 'scoring', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving']),
  // batch sits on the scoring core and the data layer; servers and the CLI call it, not the reverse.
  layerRule('batch', ['cli', 'serving', 'stream']),
  // stream: the same, for message brokers.
  layerRule('stream', ['cli', 'serving', 'batch']),
  // monitoring may use core, registry, artifacts, runtimes, scoring and data.
  layerRule('monitoring', ['serving', 'cli', 'batch', 'stream']),
  // edge: exports sit on the scoring core, the registry and the data layer, like batch and stream.
  layerRule('edge', ['cli', 'serving', 'batch', 'stream', 'monitoring']),
  // The code bundled into exported packages runs in browsers and workers: no Node APIs, no stores.
  {
    files: ['src/edge/package/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*'], message: 'Package code runs in browsers and workers: no Node APIs.' },
          ...['registry', 'artifacts', 'data', 'cli', 'batch', 'stream', 'monitoring', 'serving'].map((layer) => ({ group: [`**/${layer}/*`], message: `Package code must not import src/${layer} (it is bundled into exported packages).` })),
        ],
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
