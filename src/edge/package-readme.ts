/** README.md of an exported package: what it is, how to use it, how it was checked. */
import type { ExportModel } from './export-target.js';

export function packageReadme(model: ExportModel, target: string, name: string): string {
  const v = model.version;
  const columns = v.signature.inputs.flatMap((i) => i.columns ?? [i.name]);
  const example = Object.fromEntries(columns.slice(0, 3).map((c) => [c, 0]));
  const worker = target === 'browser'
    ? ['', 'In a Web Worker (the page stays responsive):', '', '```js', "import { createPredictWorker } from './client.js';", 'const worker = createPredictWorker();', 'const predictions = await worker.predict(rows);', '```', '']
    : [];
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
    `\`node test.js\` scores the ${model.parity.rows.length} parity rows in \`parity.js\` and compares them with the server's predictions (it ran before the export finished).`,
    '',
  ].join('\n');
}
