/**
 * Thousands of malformed, truncated, oversized and wrong-typed requests: every one gets a
 * 4xx with an error body, never a 5xx, and the server keeps answering. Deterministic: the
 * bodies come from a seeded generator.
 */
import { mulberry32 } from '../src/core/random.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/env.js';
import { fixture, oneRowRequest } from './helpers/fixtures.js';
import { startServe, type ServeProcess } from './helpers/server.js';

/** Seeded, so every run sends the same requests. */
const rng = mulberry32;

interface Case { path: string; body: Buffer; headers: Record<string, string>; kind: string }

const breast = fixture('breast_mlp');
const iris = fixture('iris_string');
const valid = oneRowRequest(breast);
const row = valid.inputs[0]!.data;
const validText = JSON.stringify(valid);
const BODY_LIMIT = 64 * 1024;

function cases(seed: number, n: number): Case[] {
  const r = rng(seed);
  const int = (max: number) => Math.floor(r() * max);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const junk = (): unknown => pick([null, true, -1, 0, 1e308, -1e308, 2 ** 53 + 1, '', 'x', '💥', [], {}, [[[]]], { a: 1 }, [1, 'a', null], 'FP32', -0.5]);
  /** Junk that is not a number (an FP32 element) / not a string (a BYTES element). */
  const notNumber = (): unknown => pick([null, true, '', 'x', '💥', {}, { a: 1 }, 'FP32']);
  const notString = (): unknown => pick([null, true, -1, 0, 1.5, {}, { a: 1 }]);
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const paths = ['/v2/models/bc/infer', '/v2/models/bc/versions/1/infer', '/v2/models/iris/infer', '/v2/models/bc/versions/champion/infer'];
  const gens: (() => Omit<Case, 'path'> & { path?: string })[] = [
    () => ({ kind: 'random bytes', body: Buffer.from(Array.from({ length: int(2000) }, () => int(256))), headers: { 'content-type': 'application/json' } }),
    () => ({ kind: 'truncated JSON', body: Buffer.from(validText.slice(0, 1 + int(validText.length - 2))), headers: { 'content-type': 'application/json' } }),
    () => {
      const doc = JSON.parse(validText) as { inputs: Record<string, unknown>[] } & Record<string, unknown>;
      if (r() < 0.25) {
        // A top-level field with a value of the wrong kind.
        const top = pick(['inputs', 'outputs', 'id', 'parameters'] as const);
        const wrong = { inputs: [null, 1, 'x', {}, [], [1], [null]], outputs: [1, 'x', {}, [1], [{}], [{ name: 5 }], [{ name: 'nope' }]], id: [1, true, {}, [], null], parameters: ['x', 1, [], true] }[top];
        (doc as Record<string, unknown>)[top] = pick(wrong as unknown[]);
        return { kind: `bad top-level ${top}`, body: json(doc), headers: { 'content-type': 'application/json' } };
      }
      const field = pick(['name', 'shape', 'datatype', 'data', 'parameters']);
      const target = doc.inputs[0]!;
      let value = junk();
      // An object is a valid "parameters" (unknown parameters are ignored); make it wrong.
      if (field === 'parameters' && typeof value === 'object' && value !== null && !Array.isArray(value)) value = 'x';
      if (field === 'datatype' && value === 'FP32') value = 'FP33';
      target[field] = value;
      return { kind: `bad ${field}`, body: json(doc), headers: { 'content-type': 'application/json' } };
    },
    () => {
      const doc = JSON.parse(validText) as { inputs: { shape: unknown[] }[] };
      doc.inputs[0]!.shape = Array.from({ length: int(5) }, () => pick([0, 1, 30, -1, 1e9, 2.5, '3']));
      if (JSON.stringify(doc.inputs[0]!.shape) === '[1,30]') doc.inputs[0]!.shape = [1, 31]; // the one valid shape
      return { kind: 'bad shape', body: json(doc), headers: {} };
    },
    () => {
      const doc = JSON.parse(validText) as { inputs: { data: unknown[] }[] };
      const d = [...row] as unknown[];
      d[int(30)] = notNumber();
      doc.inputs[0]!.data = r() < 0.5 ? d : d.slice(0, int(30));
      return { kind: 'bad element', body: json(doc), headers: {} };
    },
    () => {
      // Binary extension with lying lengths.
      const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP32', parameters: { binary_data_size: pick([0, 4, 119, 120, 121, -1, 1e12, 'x']) } }] }));
      const raw = Buffer.alloc(int(200));
      const claimed = pick([header.length, header.length + 1, header.length - 3, -5, 1e9, 'abc', 0]);
      return { kind: 'binary lengths', body: Buffer.concat([header, raw]), headers: { 'inference-header-content-length': String(claimed) } };
    },
    () => {
      // Nesting deep enough to hurt a naive recursive flatten.
      const depth = 2000 + int(8000);
      return { kind: 'deep nesting', body: Buffer.from(`{"inputs":[{"name":"input","shape":[1,30],"datatype":"FP32","data":${'['.repeat(depth)}1${']'.repeat(depth)}}]}`), headers: {} };
    },
    () => ({ kind: 'oversized', body: Buffer.alloc(BODY_LIMIT + 1 + int(BODY_LIMIT), 0x20), headers: { 'content-type': 'application/json' } }),
    () => ({ kind: 'wrong BYTES', path: '/v2/models/iris/infer', body: json({ inputs: [{ name: 'sepal', shape: [1, 2], datatype: 'FP32', data: [1, 2] }, { name: 'petal_size', shape: [1, 1], datatype: 'BYTES', data: [notString()] }] }), headers: {} }),
    () => ({ kind: 'zero rows', body: json({ inputs: [{ name: 'input', shape: [0, 30], datatype: 'FP32', data: [] }] }), headers: {} }),
    () => ({ kind: 'empty body', body: Buffer.alloc(0), headers: { 'content-type': pick(['application/json', 'text/plain', 'application/octet-stream']) } }),
    () => {
      // MLflow and KServe v1 bodies: wrong keys, wrong kinds, truncated, wrong content types, garbage CSV.
      const mlflowPath = pick(['/models/bc/invocations', '/invocations', '/v1/models/bc:predict']);
      const payload = pick<unknown>([
        { dataframe_split: junk() }, { dataframe_records: junk() }, { instances: junk() }, { inputs: junk() },
        { instances: [row.slice(0, 29)] }, { instances: [[...row.slice(0, 29), 'x']] }, { dataframe_split: { columns: ['a'], data: [[1, 2]] } },
        { instances: [row], inputs: [row] }, {}, [], 'x', { instances: [{}] }, { dataframe_records: [{ mean_radius: 'a' }] },
      ]);
      const text = JSON.stringify(payload);
      const kind = int(4);
      if (kind === 0) return { kind: 'mlflow truncated', path: mlflowPath, body: Buffer.from(text.slice(0, Math.max(1, int(text.length)))), headers: { 'content-type': 'application/json' } };
      if (kind === 1) return { kind: 'mlflow content type', path: mlflowPath, body: Buffer.from(text), headers: { 'content-type': pick(['text/plain', 'application/xml', 'application/json; charset=latin1', 'multipart/form-data']) } };
      if (kind === 2) return { kind: 'mlflow csv', path: '/models/bc/invocations', body: Buffer.from(pick(['a,b\n1', '"unclosed\n1,2', 'x\n' + '1,'.repeat(40), '\u0000\u0001'])), headers: { 'content-type': 'text/csv' } };
      return { kind: 'mlflow bad payload', path: mlflowPath, body: Buffer.from(text), headers: { 'content-type': 'application/json' } };
    },
  ];
  return Array.from({ length: n }, () => {
    const g = pick(gens)();
    return { path: g.path ?? pick(paths), body: g.body, headers: g.headers, kind: g.kind };
  });
}

describe('malformed requests never produce a 5xx', () => {
  const tmp = tempDir();
  const env = { FERRY_HOME: join(tmp.dir, 'home') };
  let server: ServeProcess;

  before(async () => {
    assert.equal((await runCli(['register', breast.model, '--name', 'bc', '--alias', 'champion'], env)).code, 0);
    const cols = Object.entries(iris.meta.input_columns).flatMap(([i, c]) => ['--input-columns', `${i}=${c.join(',')}`]);
    assert.equal((await runCli(['register', iris.model, '--name', 'iris', ...cols], env)).code, 0);
    server = await startServe(env, ['--body-limit', String(BODY_LIMIT)]);
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
    tmp.cleanup();
  });

  it('3000 seeded bad requests (OIP, MLflow, KServe v1): all 4xx with an error body; the server stays up and still scores', async () => {
    const all = cases(20261121, 3000);
    const byStatus = new Map<number, number>();
    const bad: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < all.length) {
        const c = all[next++]!;
        let status: number;
        let text = '';
        try {
          const res = await fetch(`${server.url}${c.path}`, { method: 'POST', headers: c.headers, body: c.body });
          status = res.status;
          text = await res.text();
        } catch (err) {
          // The server may cut an oversized upload short; that is a refusal, not a crash.
          if (c.kind === 'oversized') continue;
          throw err;
        }
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
        // OIP and KServe answer {"error"}; MLflow answers {"error_code", "message"}.
        const hasError = (() => {
          try {
            const b = JSON.parse(text) as { error?: unknown; error_code?: unknown; message?: unknown };
            return typeof b.error === 'string' || (typeof b.error_code === 'string' && typeof b.message === 'string');
          } catch {
            return false;
          }
        })();
        if (status < 400 || status >= 500 || !hasError) bad.push(`${c.kind} → ${status} ${text.slice(0, 160)}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} requests got a non-4xx answer or no error body`);
    assert.ok((byStatus.get(413) ?? 0) > 0, 'oversized bodies are refused with 413');
    assert.ok((byStatus.get(400) ?? 0) > 1000);
    const ok = await fetch(`${server.url}/v2/models/bc/infer`, { method: 'POST', body: validText });
    assert.equal(ok.status, 200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /ferry_requests_total\{[^}]*code="5\d\d"\}/);
  });
});
