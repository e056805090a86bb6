/**
 * The restricted unpickler against hostile files: real payloads written by
 * scripts/fixtures/sklearn_malicious.py (each proven there to create a marker file when Python
 * loads it), hand-made memo tricks, size/depth/memo bombs, and a bounded fuzz of random and
 * mutated inputs. Every one is refused with a catalog error; the marker never appears.
 */
import { mulberry32 } from '../src/core/random.js';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { FerryError, isFerryError } from '../src/core/errors.js';
import { loadPickle } from '../src/runtimes/sklearn/pickle/joblib.js';
import { PickleLimitExceeded } from '../src/runtimes/sklearn/pickle/values.js';
import { sklearnRuntime } from '../src/runtimes/sklearn/sklearn-runtime.js';
import { ROOT } from './helpers/env.js';
import { loadArtifact, translateArtifact } from '../src/runtimes/artifact-error.js';

const DIR = join(ROOT, 'fixtures/sklearn-malicious');
const MARKER = '/tmp/ferry-sklearn-pwned';

const expectedGlobal: Record<string, RegExp> = {
  builtins_eval: /builtins\.eval/,
  subprocess_popen: /(subprocess|commands)\.Popen/, // protocol 2 writes Python 2 names
  os_system: /(os|posix)\.system/,
  estimator_extra_attribute: /(os|posix)\.system/,
  object_array_nested: /(os|posix)\.system/,
};

const load = (bytes: Uint8Array, label = 'x'): Promise<unknown> => loadArtifact(sklearnRuntime, bytes, {}, label);

describe('malicious pickles are refused and nothing runs', () => {
  before(() => rmSync(MARKER, { force: true }));
  after(() => assert.equal(existsSync(MARKER), false, 'a payload ran'));

  const files = readdirSync(DIR).filter((n) => /\.(pkl|joblib)$/.test(n)).sort();
  it('has the payloads the fixture script proved live', () => assert.ok(files.length >= 9, files.join(', ')));

  for (const name of files) {
    it(`${name}: FERRY_E_PICKLE_GLOBAL_REFUSED naming the global, no marker`, async () => {
      const bytes = readFileSync(join(DIR, name));
      const want = Object.entries(expectedGlobal).find(([k]) => name.startsWith(k))![1];
      for (const attempt of [() => load(bytes, name), () => translateArtifact(sklearnRuntime, bytes, name)]) {
        await assert.rejects(attempt(), (e) => isFerryError(e, 'FERRY_E_PICKLE_GLOBAL_REFUSED') && want.test(e.message) && /Nothing in the file was run/.test(e.message));
      }
      assert.equal(existsSync(MARKER), false);
    });
  }

  it('STACK_GLOBAL from memoised strings (BINGET tricks) is refused the same way', async () => {
    // "os" and "system" memoised, popped, fetched back from the memo, then STACK_GLOBAL + REDUCE.
    const s = (t: string): number[] => [0x8c, t.length, ...Buffer.from(t)];
    const program = [0x80, 4, ...s('os'), 0x94, 0x30, ...s('system'), 0x94, 0x30, 0x68, 0, 0x68, 1, 0x93, ...s(`touch ${MARKER}`), 0x85, 0x52, 0x2e];
    await assert.rejects(load(Uint8Array.from(program)), (e) => isFerryError(e, 'FERRY_E_PICKLE_GLOBAL_REFUSED') && /os\.system/.test(e.message));
    // The same names through INST (protocol 0) and a GLOBAL hidden after a valid estimator prefix.
    await assert.rejects(load(Buffer.from(`(S'touch ${MARKER}'\nios\nsystem\n.`, 'latin1')), (e) => isFerryError(e, 'FERRY_E_PICKLE_GLOBAL_REFUSED'));
    assert.equal(existsSync(MARKER), false);
  });
});

describe('bombs are refused before allocation', () => {
  it('an array whose state claims 2^40 elements: FERRY_E_PICKLE_LIMIT', async () => {
    await assert.rejects(load(readFileSync(join(DIR, 'array_shape_bomb.bomb'))), (e) => isFerryError(e, 'FERRY_E_PICKLE_LIMIT') && /array elements/.test(e.message));
  });

  it('a string claiming 2^40 bytes, a deep MARK nest, a memo flood, a zlib bomb', () => {
    assert.throws(() => loadPickle(Uint8Array.from([0x80, 4, 0x8d, 0, 0, 0, 0, 0, 1, 0, 0, 0x2e])), /runs past the end/);
    assert.throws(() => loadPickle(Buffer.from('('.repeat(100_000))), (e) => e instanceof PickleLimitExceeded && /nested MARKs/.test(e.message));
    const memo = [0x80, 4, 0x4e];
    for (let i = 0; i < 200; i++) memo.push(0x94);
    assert.throws(() => loadPickle(Uint8Array.from([...memo, 0x2e]), { limits: { maxArrayElements: 1 << 20, maxDepth: 50, maxMemo: 100, maxStack: 1000 } }), /memo entries/);
    const bomb = deflateSync(Buffer.alloc(8 << 20), { level: 9 }); // 8 MiB of zeros in a few KB
    assert.ok(bomb.length < 64 * 1024);
    assert.throws(() => loadPickle(bomb, { maxBytes: 1 << 20 }), (e) => e instanceof PickleLimitExceeded && /decompresses to more than/.test(e.message));
    const stack = [0x80, 4];
    for (let i = 0; i < 2000; i++) stack.push(0x4e);
    assert.throws(() => loadPickle(Uint8Array.from(stack), { limits: { maxArrayElements: 1 << 20, maxDepth: 50, maxMemo: 100, maxStack: 1000 } }), /pickle stack/);
  });

  it('a self-referencing list (APPEND of itself) is not an estimator, and nothing recurses forever', async () => {
    await assert.rejects(load(Uint8Array.from([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e])), (e) => isFerryError(e, 'FERRY_E_ARTIFACT_INVALID'));
  });
});

describe('fuzz: random and mutated inputs (bounded)', () => {
  /** Seeded, so a failure can be replayed. */
  const rng = mulberry32;

  const seeds = ['dt_iris/model.joblib', 'dt_iris/model.p2.pkl', 'rf_breast/model.joblib', 'hgb_codes_missing/model.joblib', 'logreg_iris/model.joblib', 'dt_iris/model.joblib.zlib']
    .map((f) => readFileSync(join(ROOT, 'fixtures/sklearn', f)));

  it('no crash, no hang, no error outside the catalog: 1500 inputs, each under 2 s', async () => {
    const next = rng(15);
    const deadline = Date.now() + 20_000;
    let n = 0;
    for (; n < 1500 && Date.now() < deadline; n++) {
      const base = seeds[n % seeds.length]!;
      let bytes: Uint8Array;
      const kind = n % 5;
      if (kind === 0) bytes = Uint8Array.from({ length: 1 + Math.floor(next() * 256) }, () => Math.floor(next() * 256));
      else if (kind === 1) bytes = Uint8Array.from([0x80, 2 + Math.floor(next() * 4), ...Array.from({ length: Math.floor(next() * 200) }, () => Math.floor(next() * 256))]);
      else if (kind === 2) bytes = base.subarray(0, Math.floor(next() * base.length));
      else {
        bytes = Uint8Array.from(base);
        const flips = 1 + Math.floor(next() * 8);
        for (let i = 0; i < flips; i++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      }
      const started = Date.now();
      try {
        const runtime = await load(bytes, `fuzz-${n}`);
        void runtime;
      } catch (err) {
        assert.ok(err instanceof FerryError, `input ${n} (kind ${kind}): ${String(err)}\n${(err as Error).stack ?? ''}`);
      }
      assert.ok(Date.now() - started < 2000, `input ${n} took ${Date.now() - started} ms`);
    }
    assert.ok(n >= 300, `only ${n} inputs in the time budget`);
  });
});
