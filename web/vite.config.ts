import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard's own build: `npm run build` runs it after tsc, into dist/web (served by `ferry serve` at /ui/).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: the page works at /ui/ and under any reverse-proxy prefix (/ferry/ui/).
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The size budget (250 KB gzipped) is checked by `npm run bench:ui-size`.
    reportCompressedSize: false,
    modulePreload: { polyfill: false },
  },
  logLevel: 'warn',
});
