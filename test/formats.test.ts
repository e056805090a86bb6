/**
 * Model formats by content: what `ferry register` detects without --format, and what it refuses
 * (PyTorch checkpoints), and where pickles and joblib dumps go (real files from scripts/fixtures/unsafe.py).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import { loadArtifact } from '../src/runtimes/artifact-error.js';
import { RuntimeCatalog } from '../src/runtimes/catalog.js';
import type { RuntimeFactory } from '../src/runtimes/model-runtime.js';
import { isPickle, refusalFor } from '../src/runtimes/unsafe-formats.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES, ROOT, tempDir } from './helpers/env.js';

const UNSAFE = join(ROOT, 'fixtures/unsafe');
const unsafeFiles = readdirSync(UNSAFE).filter((n) => n !== 'README.md').sort();

/** Every model fixture the project has, with the format it must be detected as. */
function modelFiles(): { path: string; format: string }[] {
  const out: { path: string; format: string }[] = [];
  for (const n of readdirSync(FIXTURES)) out.push({ path: join(FIXTURES, n, 'model.onnx'), format: 'onnx' });
  const xgb = join(ROOT, 'fixtures/xgboost');
  for (const n of readdirSync(xgb)) for (const ext of ['json', 'ubj']) out.push({ path: join(xgb, n, `model.${ext}`), format: 'xgboost' });
  const lgb = join(ROOT, 'fixtures/lightgbm');
  for (const n of readdirSync(lgb)) if (existsSync(join(lgb, n, 'model.txt'))) out.push({ path: join(lgb, n, 'model.txt'), format: 'lightgbm' });
  return out.filter((f) => existsSync(f.path));
}

const PMML = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/><DataDictionary/></PMML>\n');

describe('pickles go to the restricted unpickler; PyTorch checkpoints are refused', () => {
  const catalog = new RuntimeCatalog();

  it('covers pickle protocols 0–5, joblib (plain and every compressor) and a .pt checkpoint', () => {
    for (const p of [0, 1, 2, 3, 4, 5]) assert.ok(unsafeFiles.includes(`sklearn_protocol${p}.pkl`), `protocol ${p}`);
    for (const c of ['zlib', 'gzip', 'bz2', 'xz', 'lzma', 'lz4']) assert.ok(unsafeFiles.includes(`sklearn.joblib.${c}`), c);
    assert.ok(unsafeFiles.includes('sklearn.joblib') && unsafeFiles.includes('checkpoint.pt'));
  });

  for (const name of unsafeFiles.filter((n) => n.startsWith('sklearn'))) {
    it(`${name}: detected as sklearn by content`, () => {
      assert.equal(catalog.detect(readFileSync(join(UNSAFE, name)), name).format, 'sklearn');
    });
  }

  it('checkpoint.pt: FERRY_E_ARTIFACT_FORMAT_UNSUPPORTED with export advice, with or without --format', () => {
    const bytes = readFileSync(join(UNSAFE, 'checkpoint.pt'));
    for (const given of [undefined, 'sklearn', 'onnx']) {
      assert.throws(() => catalog.detect(bytes, 'checkpoint.pt', given), (e) => isFerryError(e, 'FERRY_E_ARTIFACT_FORMAT_UNSUPPORTED') && /torch\.onnx\.export/.test(e.message) && /PyTorch checkpoint/.test(e.message));
    }
    assert.match(refusalFor(bytes)?.what ?? '', /PyTorch checkpoint/);
  });

  it('a plain dict pickle loads nothing: not a scikit-learn estimator', async () => {
    for (const n of ['dict_protocol0.pkl', 'dict_protocol1.pkl']) {
      const bytes = readFileSync(join(UNSAFE, n));
      const factory = catalog.detect(bytes, n);
      await assert.rejects(loadArtifact(factory, bytes, {}, n), (e) => isFerryError(e, 'FERRY_E_ARTIFACT_INVALID') && /not a fitted scikit-learn estimator/.test(e.message));
    }
  });

  it('a pickle that would run a command is refused naming the global, and the command never runs', async () => {
    const tmp = tempDir();
    try {
      const marker = join(tmp.dir, 'pwned');
      // Protocol 0: os.system("touch <marker>") — what unpickling this file would do.
      const evil = Buffer.from(`cos\nsystem\n(S'touch ${marker}'\ntR.`, 'latin1');
      assert.ok(isPickle(evil));
      const file = join(tmp.dir, 'model.pkl');
      writeFileSync(file, evil);
      const factory = catalog.detect(readFileSync(file), file);
      await assert.rejects(loadArtifact(factory, readFileSync(file), {}, file), (e) => isFerryError(e, 'FERRY_E_PICKLE_GLOBAL_REFUSED') && /os\.system/.test(e.message));
      assert.equal(existsSync(marker), false);
    } finally {
      tmp.cleanup();
    }
  });

  it('never takes a model or text file for a pickle', () => {
    for (const f of modelFiles()) assert.equal(refusalFor(readFileSync(f.path)), undefined, f.path);
    const texts = [PMML, Buffer.from('id,a,b\n1,2,3\n'), Buffer.from('[1, 2, 3].'), Buffer.from('{"a": 1}'), Buffer.from('(just a note).'), Buffer.from('col.a\ncol.b\n.')];
    for (const t of texts) {
      assert.equal(refusalFor(t), undefined, t.toString());
      assert.equal(isPickle(t), false, t.toString());
    }
  });
});

describe('format detection (ferry register without --format)', () => {
  const catalog = new RuntimeCatalog();

  it('detects every fixture model as its format', () => {
    const files = modelFiles();
    for (const format of ['onnx', 'xgboost', 'lightgbm']) assert.ok(files.some((f) => f.format === format), format);
    for (const f of files) assert.equal(catalog.detect(readFileSync(f.path), f.path).format, f.format, f.path);
  });

  it('detects PMML once the pmml runtime is in the catalog', { skip: !catalog.formats.includes('pmml') && 'no pmml runtime on this branch yet' }, () => {
    assert.equal(catalog.detect(PMML, 'model.pmml').format, 'pmml');
  });

  it('unknown content: FERRY_E_ARTIFACT_FORMAT_UNKNOWN listing the formats', () => {
    for (const bytes of [Buffer.from('hello, world\n'), Buffer.alloc(0), Buffer.from([0xde, 0xad, 0xbe, 0xef])]) {
      assert.throws(() => catalog.detect(bytes, 'x.bin'), (e) => isFerryError(e, 'FERRY_E_ARTIFACT_FORMAT_UNKNOWN') && /onnx, xgboost, lightgbm, pmml, sklearn/.test(e.message) && /--format/.test(e.message));
    }
  });

  it('content two runtimes claim: FERRY_E_ARTIFACT_FORMAT_AMBIGUOUS naming both', () => {
    const claimsAll = (format: string): RuntimeFactory => ({ format, title: format, sniff: () => 'yes', load: () => Promise.reject(new Error('not used')) });
    const ambiguous = new RuntimeCatalog([claimsAll('alpha'), claimsAll('beta')]);
    assert.throws(() => ambiguous.detect(Buffer.from('x'), 'm.bin'), (e) => isFerryError(e, 'FERRY_E_ARTIFACT_FORMAT_AMBIGUOUS') && /alpha, beta/.test(e.message));
    assert.equal(ambiguous.detect(Buffer.from('x'), 'm.bin', 'beta').format, 'beta');
  });
});

describe('ferry register: detection and refusal end to end', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  after(() => tmp.cleanup());

  it('registers a LightGBM text model without --format', async () => {
    const reg = await runCli(['register', join(ROOT, 'fixtures/lightgbm/multiclass/model.txt'), '--name', 'lgb'], env);
    assert.equal(reg.code, 0, reg.stderr);
    assert.match(reg.stdout, /lightgbm/);
  });

  it('registers a joblib file as Ferry\'s model document, with the pickle\'s sha256 in the lineage', async () => {
    const reg = await runCli(['register', join(UNSAFE, 'sklearn.joblib.zlib'), '--name', 'pkl', '--json'], env);
    assert.equal(reg.code, 0, reg.stderr);
    const version = JSON.parse(reg.stdout) as { format: string; lineage: { source?: { sha256?: string; container?: string; compression?: string } } };
    assert.equal(version.format, 'sklearn');
    assert.equal(version.lineage.source?.container, 'joblib');
    assert.equal(version.lineage.source?.compression, 'zlib');
    assert.match(version.lineage.source?.sha256 ?? '', /^[0-9a-f]{64}$/);
  });

  it('refuses a PyTorch checkpoint with the explanation', async () => {
    const reg = await runCli(['register', join(UNSAFE, 'checkpoint.pt'), '--name', 'pt'], env);
    assert.notEqual(reg.code, 0);
    assert.match(reg.stderr, /FERRY_E_ARTIFACT_FORMAT_UNSUPPORTED|arbitrary code/);
    assert.match(reg.stderr, /torch\.onnx\.export/);
  });
});
