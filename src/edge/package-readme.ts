/** README.md of an exported package: what it is, how to use it, how it was checked. */
import type { ExportModel } from './export-target.js';

export function packageReadme(model: ExportModel, target: string, name: string): string {
  const v = model.version;
  const columns = v.signature.inputs.flatMap((i) => i.columns ?? [i.name]);
  const example = Object.fromEntries(columns.slice(0, 3).map((c) => [c, 0]));
  const worker = target === 'browser'
    ? ['', 'In a Web Worker (the page stays responsive):', '', '```js', "import { createPredictWorker } from './client.js';", 'const worker = createPredictWorker();', 'const predictions = await worker.predict(rows);', '```', '']
    : [];
  const wasm = target === 'browser' && v.format === 'onnx' ? onnxServing(name) : [];
  return [
    `# ${name}`,
    '',
    `\`${v.model}:${v.version}\` (${v.format}${v.aliases.length ? `, aliases ${v.aliases.join(', ')}` : ''}), exported by Ferry for **${target}**.`,
    `Artifact sha256 \`${v.digest}\`. No dependencies, no \`npm install\`: copy the folder and import it.`,
    '',
    '```js',
    "import { predict } from './index.js';",
    `const [prediction] = await predict([${JSON.stringify(example)}]);`,
    '```',
    ...worker,
    '',
    `Rows are objects keyed by the input columns (${columns.length} in all; \`null\` or absent = missing where the model allows it); each prediction holds the outputs ${v.signature.outputs.map((o) => `\`${o.name}\``).join(', ')} exactly as \`ferry predict\` writes them. \`predictBatch(Float32Array, n)\` scores rows packed in one typed array.`,
    '',
    ...wasm,
    `\`node test.js\` scores the ${model.parity.rows.length} parity rows in \`parity.js\` and compares them with the server's predictions (it ran before the export finished).`,
    '',
  ].join('\n');
}

/**
 * How to serve an ONNX browser package so its first answer comes soon: the .wasm is most of
 * the wait (its transfer and compilation, then onnxruntime's start-up).
 */
function onnxServing(name: string): string[] {
  return [
    "The first `predict` fetches `ort-wasm-simd-threaded.wasm` (onnxruntime's WebAssembly: the package's largest file, about a quarter of it compressed), compiles it and starts onnxruntime.",
    'Serve it as `application/wasm` (browsers then compile it while it downloads), compressed (add `application/wasm` to the',
    "types your server compresses) and with a long cache lifetime. The page's Content-Security-Policy needs",
    "`script-src 'self' 'wasm-unsafe-eval'`. To take the load off the first prediction, call `preload()` when the page starts",
    'and let the browser fetch the `.wasm` while the page loads its scripts:',
    '',
    '```html',
    `<link rel="preload" href="<URL of ${name}>/ort-wasm-simd-threaded.wasm" as="fetch" type="application/wasm" crossorigin>`,
    '```',
    '',
  ];
}
