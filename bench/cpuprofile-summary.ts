/**
 * Summarise a V8 `.cpuprofile` (from `BENCH_CPU_PROF=1 npm run bench:serve` or `node --cpu-prof`):
 * time by area (package, Ferry source folder, Node internals, GC, idle), and the top functions
 * by self and by inclusive time. Times are shares of the whole profile.
 *
 *   npx tsx bench/cpuprofile-summary.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** Where a frame's code lives: `fastify`, `src/serving/http`, `node:internal/streams`, `(garbage collector)`. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native / V8 builtins)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] ?? url;
  const own = /\/(dist|src|bench)\/(.*)\//.exec(url);
  if (own) return `${own[1] === 'dist' ? 'src' : own[1]}/${own[2]}`;
  const internal = /^node:(internal\/[^/]+|[^/]+)/.exec(url);
  if (internal) return `node:${internal[1]}`;
  return url;
}

function label(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/(node_modules|dist|src|bench)\//, '$1/').replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'} ${file ? `${file}:${frame.lineNumber + 1}` : ''}`.trim();
}

function top(map: Map<string, number>, total: number, n: number): string[] {
  return [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}

function add(map: Map<string, number>, key: string, v: number): void {
  map.set(key, (map.get(key) ?? 0) + v);
}

export function summarise(profile: Profile, n = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    total += dt;
    add(self, label(node.callFrame), dt);
    add(areas, areaOf(node.callFrame), dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame) break;
      const key = label(frame);
      if (!seen.has(key)) add(inclusive, key, dt);
      seen.add(key);
    }
  });
  return [
    `profile: ${(total / 1e6).toFixed(2)} s sampled`,
    '', 'self time by area:', ...top(areas, total, n),
    '', 'top functions, self time:', ...top(self, total, n),
    '', 'top functions, inclusive time:', ...top(inclusive, total, n),
  ].join('\n');
}

const [file, count] = process.argv.slice(2);
if (file) {
  process.stdout.write(`${summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(count ?? 25))}\n`);
} else {
  process.stderr.write('usage: tsx bench/cpuprofile-summary.ts <file.cpuprofile> [top]\n');
  process.exitCode = 2;
}
