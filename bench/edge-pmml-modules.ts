/**
 * Where the bytes of a PMML package's index.js go: for each document kind, the esbuild metafile's
 * minified bytes per module of the narrowed bundle, and index.js gzipped (gzip -9).
 * `tsx bench/edge-pmml-modules.ts [--top N] [model.pmml ...]`
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { bundleWithSizes } from '../src/edge/bundle.js';
import { PACKAGE_FORMATS } from '../src/edge/formats.js';
import { packageNarrowing } from '../src/edge/js-package.js';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
const K = (f: string) => `fixtures/pmml/kernels/${f}.pmml`;
const C = (id: string) => `fixtures/pmml/cases/${id}/model.pmml`;
const models = args.length > 0 ? args : [
  K('rule-set'), K('association'), K('naive-bayes'), K('scorecard'), K('neural-classification'), K('neural-regression'), K('svm-classification'), K('svm-regression'),
  K('clustering'), K('nearest-neighbor'), K('anomaly-iforest'), C('sklearn-grm-logit'), C('sklearn-grm-multinomial'), C('sklearn-grm-poisson'),
  C('hand-contrast'), C('hand-cox'), 'test/edge-fixtures/pmml/tree-derived.pmml', C('hand-transforms'), C('hand-cluster-vote'),
  C('hand-selectall'), C('hand-chain-segmentid'), C('hand-missing'),
];

for (const path of models) {
  const data = PACKAGE_FORMATS.pmml!(readFileSync(path));
  const narrowing = packageNarrowing(data.narrowing, false);
  const { text: index, bytes } = await bundleWithSizes('index', data.evaluator ?? 'pmml', narrowing, true);
  const inputs = [...bytes].map(([f, n]) => [f.replace(/^src\//, ''), n] as const).sort((a, b) => b[1] - a[1]);
  console.log(`\n== ${path}: index.js ${(index.length / 1024).toFixed(1)} KB raw, ${(gzipSync(index, { level: 9 }).length / 1024).toFixed(2)} KB gzip -9`);
  for (const [f, n] of inputs.slice(0, top)) console.log(`${String(n).padStart(7)}  ${f}`);
}
