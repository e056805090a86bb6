/**
 * Load/unload cycles (issue #18, reliability): 100 alias moves between two large ONNX versions
 * while clients keep sending requests. No request fails, memory after the moves is where it was
 * after the first ones, and the runtime worker threads of retired versions are gone.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { mlpOnnx } from './helpers/onnx-writer.js';
import { postJson, startServe, type ServeProcess } from './helpers/server.js';

const MOVES = 100;
const HIDDEN = 1 << 17; // 32 × 131072 float32 weights: a 16 MiB model file

function procStats(pid: number): { rss: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS') * 1024, threads: field('Threads') };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

describe('load/unload cycles', { timeout: 20 * 60_000 }, () => {
  const tmp = tempDir('ferry-cycles-');
  // As the shipped container and manifests run it (deploy/Dockerfile): a fixed glibc mmap threshold.
  const env = { FERRY_HOME: join(tmp.dir, 'home'), MALLOC_MMAP_THRESHOLD_: '1048576' };
  let server: ServeProcess;
  before(async () => {
    for (const [seed, extra] of [[1, ['--alias', 'champion']], [2, []]] as const) {
      const file = join(tmp.dir, `mlp-${seed}.onnx`);
      writeFileSync(file, mlpOnnx({ inputs: 30, hidden: HIDDEN, seed }));
      const r = await runCli(['register', file, '--name', 'big', ...extra], env);
      assert.equal(r.code, 0, r.stderr);
    }
    const config = join(tmp.dir, 'ferry.yaml');
    writeFileSync(config, 'models:\n  - name: big\n    versions: [champion]\n');
    server = await startServe(env, ['--poll-interval', '50', '--config', config, '--runtime-workers', '1']);
  });
  after(async () => {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) console.log(`ferry serve ended early (exit ${server.proc.exitCode}, signal ${server.proc.signalCode}):\n${server.output().slice(-4000)}`);
    assert.equal(await server.stop(), 0);
    tmp.cleanup();
  });

  it(`${MOVES} alias moves under load: 0 failed requests, threads back to baseline, RSS measured`, async () => {
    const pid = server.proc.pid ?? 0;
    const body = { inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 30], data: Array.from({ length: 60 }, (_, i) => (i % 7) / 7) }] };
    const url = `${server.url}/v2/models/big/versions/champion/infer`;
    const failures: string[] = [];
    let sent = 0;
    let stop = false;
    // Four clients, each sending its next request 25 ms after an answer: every move (a 16 MiB
    // model loaded, swapped in and retired, hundreds of ms) has requests arriving throughout it.
    // Sent back to back instead, they kept both cores busy with the big model's arithmetic for
    // the whole test (195 s of CPU, 17 % of the suite's) without reaching a move any differently.
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const res = await postJson(url, body).catch((err: unknown) => ({ status: 0, body: String(err), headers: new Headers() }));
        sent++;
        if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    });
    const samples: { rss: number; threads: number }[] = [];
    try {
      for (let move = 1; move <= MOVES; move++) {
        const target = String(move % 2 === 1 ? 2 : 1);
        const r = await runCli(['alias', 'set', 'big', 'champion', target], env);
        assert.equal(r.code, 0, r.stderr);
        // Wait (bounded) until the server answers with the new version and has retired the old one.
        const deadline = Date.now() + 60_000;
        for (;;) {
          const res = await postJson(url, body);
          const index = await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).json() as { version: string }[];
          if (res.headers.get('x-ferry-model-version') === target && index.length === 1) break;
          assert.ok(Date.now() < deadline, `move ${move}: the server did not switch to version ${target}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        samples.push(procStats(pid));
      }
    } finally {
      // Also when a move fails: the clients must not keep the test process busy forever.
      stop = true;
      await Promise.all(clients);
    }
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${sent} requests failed`);
    // Both versions have been loaded and retired several times by move 10: compare from there.
    const base = samples.slice(10, 20);
    const end = samples.slice(-10);
    const rssBase = median(base.map((s) => s.rss));
    const rssEnd = median(end.map((s) => s.rss));
    const growth = (rssEnd - rssBase) / rssBase;
    console.log(`cycles: ${sent} requests, RSS ${Math.round(rssBase / 1048576)} → ${Math.round(rssEnd / 1048576)} MB (${(growth * 100).toFixed(1)} %), threads ${median(base.map((s) => s.threads))} → ${median(end.map((s) => s.threads))}`);
    // Without the fixed mmap threshold RSS grew 8–17 % (glibc kept retired versions' memory in its
    // heap); with it, 1.2 % (docs/reliability.md). The bound: under 5 %.
    assert.ok(growth < 0.05, `RSS grew ${(growth * 100).toFixed(1)} % over ${MOVES - 20} moves`);
    // A retired version that kept its threads would add at least one per move (80 here); one or two
    // more at the end are threads V8 or libuv start lazily (seen: 13 → 14 in a quiet run).
    const threadsBase = median(base.map((s) => s.threads));
    const threadsEnd = median(end.map((s) => s.threads));
    assert.ok(threadsEnd <= threadsBase + 2, `threads back to baseline: ${threadsBase} → ${threadsEnd}`);
  });
});
