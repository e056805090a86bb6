/** ferry.yaml validation: defaults, per-model settings, and errors that name the bad key. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import { DEFAULT_BATCH_POLICY } from '../src/scoring/batcher.js';
import { batchJobsOf } from '../src/batch/config.js';
import { readConfigFile } from '../src/core/config-file.js';
import { loadServeConfig, parseServeConfig } from '../src/serving/config.js';
import { tempDir } from './helpers/env.js';

describe('serve config', () => {
  it('ferry.yaml is read once, frozen, and each area takes its section: flags do not change the shared document', () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.dir, 'ferry.yaml');
      writeFileSync(path, 'defaults: {load: eager}\nmodels: [{name: a}]\nbatch:\n  jobs: [{name: nightly, model: a, input: in.csv, output: out.csv, watermark: ts}]\n');
      const file = readConfigFile(path);
      assert.ok(Object.isFrozen(file.root) && Object.isFrozen(file.root.defaults) && Object.isFrozen((file.root.models as unknown[])[0]));
      const lazy = loadServeConfig({ lazy: true, batching: false }, file);
      assert.equal(lazy.defaults.load, 'lazy');
      assert.deepEqual(file.root.defaults, { load: 'eager' });
      assert.equal(loadServeConfig({}, file).defaults.load, 'eager');
      assert.deepEqual(batchJobsOf(file).map((j) => [j.name, j.spec.model, j.spec.watermark]), [['nightly', 'a', 'ts']]);
      writeFileSync(path, '- not\n- a mapping\n');
      assert.throws(() => readConfigFile(path), (e) => isFerryError(e, 'FERRY_E_CONFIG_INVALID') && /must be a mapping/.test(e.message));
      assert.throws(() => readConfigFile(join(tmp.dir, 'missing.yaml')), (e) => isFerryError(e, 'FERRY_E_FILE_NOT_FOUND'));
    } finally {
      tmp.cleanup();
    }
  });

  it('defaults: loopback, 8080/8081, every model eager, adaptive batching on, no cache', () => {
    const c = parseServeConfig({});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.equal(c.grpcPort, 8081);
    assert.equal(c.models, undefined);
    assert.deepEqual({ load: c.defaults.load, route: c.defaults.route, batching: c.defaults.batching, cache: c.defaults.cacheBytes }, { load: 'eager', route: 'latest', batching: DEFAULT_BATCH_POLICY, cache: undefined });
    assert.ok(c.grpcMaxMessageBytes > 4 * 1024 * 1024);
    assert.equal(c.processes, 1, 'one server process unless asked');
    assert.equal(c.predictionLog.writerNice, 0, 'the log writer thread runs at the server\'s priority unless asked');
    assert.equal(parseServeConfig({ prediction_log: { writer_nice: 5 } }).predictionLog.writerNice, 5);
    assert.equal(c.memoryReducer, false, 'V8\'s memory reducer is off in a server unless asked');
    assert.equal(parseServeConfig({ memory_reducer: true }).memoryReducer, true);
    assert.equal(c.heapGrowingPercent, 300, 'the old generation may grow to 4× what a full GC kept unless asked');
    assert.equal(parseServeConfig({ heap_growing_percent: 0 }).heapGrowingPercent, 0);
  });

  it('processes: a number, or auto for the CPUs this process may use; the flag wins', () => {
    assert.equal(parseServeConfig({ processes: 3 }).processes, 3);
    assert.equal(parseServeConfig({ processes: 'auto' }).processes, availableParallelism());
    assert.equal(parseServeConfig({ processes: 3 }, { processes: '2' }).processes, 2);
    assert.equal(parseServeConfig({ processes: 3 }, { processes: 'auto' }).processes, availableParallelism());
  });

  it('--no-batching turns the default off; a model\'s own batching still wins', () => {
    const c = parseServeConfig({ models: [{ name: 'a' }, { name: 'b', batching: { max_batch_size: 4 } }] }, { batching: false });
    assert.equal(c.defaults.batching, undefined);
    assert.equal(c.models?.[0]?.batching, undefined);
    assert.equal(c.models?.[1]?.batching?.maxBatchSize, 4);
    assert.equal(parseServeConfig({ defaults: { batching: false } }).defaults.batching, undefined, 'the file can turn it off too');
  });

  it('reads a YAML file; flags win; per-model settings inherit the defaults', () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.dir, 'ferry.yaml');
      writeFileSync(file, [
        'port: 9000',
        'defaults:',
        '  load: lazy',
        '  batching: { max_batch_size: 8 }',
        'models:',
        '  - name: churn',
        '    versions: [latest, champion, 3]',
        '    canary: [{ target: champion, weight: 9 }, { target: 3, weight: 1 }]',
        '  - name: fraud',
        '    load: eager',
        '    batching: false',
        '    cache: { max_bytes: 2048 }',
        '    shadow: { target: challenger, share: 0.25 }',
      ].join('\n'));
      const c = loadServeConfig({ config: file, port: '9100', grpcPort: 'off' });
      assert.equal(c.port, 9100);
      assert.equal(c.grpcPort, null);
      const [churn, fraud] = c.models!;
      assert.deepEqual(churn!.versions, ['latest', 'champion', '3']);
      assert.deepEqual(churn!.canary, [{ target: 'champion', weight: 9 }, { target: '3', weight: 1 }]);
      assert.equal(churn!.load, 'lazy');
      assert.equal(churn!.batching?.maxBatchSize, 8);
      assert.equal(fraud!.load, 'eager');
      assert.equal(fraud!.batching, undefined);
      assert.equal(fraud!.cacheBytes, 2048);
      assert.deepEqual(fraud!.shadow, { target: 'challenger', share: 0.25 });
    } finally {
      tmp.cleanup();
    }
  });

  for (const [raw, message] of [
    [{ prot: 80 }, /unknown key\(s\) prot/],
    [{ port: 70000 }, /port must be an integer between 0 and 65535/],
    [{ models: [{ name: 'm', load: 'sometimes' }] }, /models\[0\] \(m\): load must be "eager" or "lazy"/],
    [{ models: [{ name: 'm', batching: { max_batch_size: 0 } }] }, /batching.max_batch_size must be an integer between 1/],
    [{ models: [{ name: 'm', canary: [{ target: 'a', weight: 0 }] }] }, /canary weights must add up to more than 0/],
    [{ models: [{ name: 'm', shadow: { target: 'b', share: 2 } }] }, /shadow needs a target and a share between 0 and 1/],
    [{ models: [{ load: 'lazy' }] }, /models\[0\] needs a name/],
    [{ tls: { cert: 'a.pem' } }, /TLS needs both a certificate and a key/],
    [{ processes: 0 }, /processes \(a number or "auto"\) must be an integer between 1/],
    [{ processes: 'many' }, /processes \(a number or "auto"\) must be a number/],
    [{ prediction_log: { writer_nice: 20 } }, /prediction_log.writer_nice must be an integer between 0 and 19/],
    [{ memory_reducer: 'no' }, /memory_reducer must be true or false/],
    [{ heap_growing_percent: -1 }, /heap_growing_percent must be an integer between 0 and 1000/],
  ] as const) {
    it(`refuses ${JSON.stringify(raw)}`, () => {
      assert.throws(() => parseServeConfig(raw), (e) => isFerryError(e, 'FERRY_E_CONFIG_INVALID') && message.test(e.message));
    });
  }

  it('a file that is not YAML, or missing, is a clear error', () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.dir, 'bad.yaml');
      writeFileSync(file, 'models: [unclosed');
      assert.throws(() => loadServeConfig({ config: file }), (e) => isFerryError(e, 'FERRY_E_CONFIG_INVALID') && e.message.includes('bad.yaml'));
      assert.throws(() => loadServeConfig({ config: join(tmp.dir, 'none.yaml') }), (e) => isFerryError(e, 'FERRY_E_FILE_NOT_FOUND'));
    } finally {
      tmp.cleanup();
    }
  });
});
