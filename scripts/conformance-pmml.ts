/**
 * PMML conformance: `npm run conformance:pmml -- <corpus dir> [--case <id>] [--verbose]`.
 *
 * Runs every case of a corpus laid out like shared/conformance/pmml (manifest.json,
 * cases/<id>/{model.pmml,input.csv,expected.csv}) through the same path as `ferry predict`:
 * the format is detected from the file's content, the PMML runtime loads it, and the Scorer
 * scores a Frame of the input rows. Values are compared the way JPMML-Evaluator's
 * VerificationUtil.acceptable does. Prints a per-model-type table and one line per failure;
 * exits 1 on a failure not listed in conformance/pmml-known-failures.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCorpus } from './pmml-corpus.js';

const KNOWN_FILE = new URL('../conformance/pmml-known-failures.json', import.meta.url);

function parseArgs(argv: readonly string[]): { dir: string; only: string | undefined; verbose: boolean } {
  let dir: string | undefined;
  let only: string | undefined;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--case') only = argv[++i];
    else if (a === '--verbose' || a === '-v') verbose = true;
    else if (!a.startsWith('-')) dir = a;
  }
  if (!dir) {
    process.stderr.write('usage: npm run conformance:pmml -- <corpus dir> [--case <id>] [--verbose]\n');
    process.exit(2);
  }
  return { dir, only, verbose };
}

async function main(): Promise<void> {
  const { dir, only, verbose } = parseArgs(process.argv.slice(2));
  const known = existsSync(KNOWN_FILE) ? (JSON.parse(readFileSync(KNOWN_FILE, 'utf8')) as { cases: Record<string, string> }).cases : {};
  if (!existsSync(join(dir, 'manifest.json')) && !existsSync(join(dir, 'cases'))) {
    process.stderr.write(`conformance:pmml: ${dir} is not a PMML corpus (no manifest.json nor cases/ folder)\n`);
    process.exit(2);
  }
  const { cases: all, outcomes } = await runCorpus(dir, only);
  if (all.length === 0) {
    process.stderr.write(`conformance:pmml: no case${only === undefined ? '' : ` named ${only}`} in ${dir}\n`);
    process.exit(2);
  }
  if (verbose) for (const o of outcomes) process.stdout.write(`${o.ok ? 'pass' : 'FAIL'} ${o.id} (${o.checked} values)${o.ok ? '' : `: ${o.detail}`}\n`);
  const types = [...new Set(all.map((c) => c.type))].sort();
  const rows = types.map((t) => {
    const of = outcomes.filter((o) => o.type === t);
    const failed = of.filter((o) => !o.ok);
    return [t, of.length, of.length - failed.length, failed.filter((o) => !known[o.id]).length, failed.filter((o) => known[o.id]).length] as const;
  });
  const header = ['model type', 'cases', 'passed', 'failed', 'known'];
  const total = ['total', outcomes.length, outcomes.filter((o) => o.ok).length, outcomes.filter((o) => !o.ok && !known[o.id]).length, outcomes.filter((o) => !o.ok && known[o.id]).length] as const;
  const lines = [header, ...rows.map((r) => r.map(String)), total.map(String)];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const fmt = (l: readonly string[]): string => `| ${l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  process.stdout.write(`PMML conformance: ${dir}\n\n${fmt(header)}\n|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|\n`);
  for (const l of lines.slice(1)) process.stdout.write(`${fmt(l)}\n`);
  const failures = outcomes.filter((o) => !o.ok);
  if (failures.length > 0) process.stdout.write('\n');
  for (const f of failures) process.stdout.write(`${known[f.id] ? 'known' : 'FAIL '} ${f.id}: ${f.detail}${known[f.id] ? ` (known: ${known[f.id]})` : ''}\n`);
  const stale = Object.keys(known).filter((id) => outcomes.some((o) => o.id === id && o.ok));
  for (const id of stale) process.stdout.write(`note: ${id} is listed as a known failure but passes; remove it from conformance/pmml-known-failures.json\n`);
  const unexpected = failures.filter((f) => !known[f.id]).length;
  process.stdout.write(`\n${outcomes.length} case(s): ${outcomes.length - failures.length} pass, ${unexpected} unexpected failure(s), ${failures.length - unexpected} known\n`);
  process.exitCode = unexpected > 0 ? 1 : 0;
}

await main();
