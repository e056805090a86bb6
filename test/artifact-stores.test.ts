/**
 * One suite for every ArtifactStore: the local directory, PostgreSQL, and PostgreSQL behind a
 * local cache. Then the point of a shared store: a model registered on one machine's home is
 * served from another home that shares only PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { sha256Digest, type ArtifactStore } from '../src/artifacts/artifact-store.js';
import { CachedArtifactStore } from '../src/artifacts/cached-store.js';
import { LocalArtifactStore } from '../src/artifacts/local-store.js';
import { PostgresArtifactStore } from '../src/artifacts/postgres-store.js';
import { parseS3Url, S3ArtifactStore } from '../src/artifacts/s3-store.js';
import { loadConfig } from '../src/core/config.js';
import { FerryError } from '../src/core/errors.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES, PG_URL, pgSchema, tempDir } from './helpers/env.js';

interface Subject { name: string; open(): Promise<{ store: ArtifactStore; cleanup(): Promise<void> }> }

const subjects: Subject[] = [
  {
    name: 'local directory',
    open: () => {
      const t = tempDir('ferry-art-');
      return Promise.resolve({ store: new LocalArtifactStore(join(t.dir, 'a')), cleanup: () => Promise.resolve(t.cleanup()) });
    },
  },
  {
    name: 'postgresql (small chunks)',
    open: async () => {
      const s = await pgSchema('ferry_art');
      const store = new PostgresArtifactStore({ url: s.url, chunkBytes: 1000 });
      return { store, cleanup: async () => { await store.close(); await s.cleanup(); } };
    },
  },
  {
    name: 'postgresql behind a local cache',
    open: async () => {
      const s = await pgSchema('ferry_artc');
      const t = tempDir('ferry-artc-');
      const shared = new PostgresArtifactStore({ url: s.url, chunkBytes: 4096 });
      const store = new CachedArtifactStore(shared, new LocalArtifactStore(t.dir));
      return { store, cleanup: async () => { await store.close(); t.cleanup(); await s.cleanup(); } };
    },
  },
];

// The S3 store runs the same suite against a real S3-compatible endpoint when one is configured:
// FERRY_TEST_S3_URL=s3://<bucket>/<prefix>?endpoint=…&region=… with AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY. No S3 server runs on the development or CI machines, so it is skipped there.
const S3_URL = process.env.FERRY_TEST_S3_URL;
if (S3_URL && process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY) {
  subjects.push({
    name: 's3 behind a local cache',
    open: () => {
      const run = `${S3_URL.replace(/\/?(\?|$)/, `/ferry-test-${process.pid}-${Date.now()}/$1`)}`;
      const shared = new S3ArtifactStore({ url: run, accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!, sessionToken: process.env.AWS_SESSION_TOKEN, region: process.env.AWS_REGION });
      const t = tempDir('ferry-arts3-');
      const store = new CachedArtifactStore(shared, new LocalArtifactStore(t.dir));
      return Promise.resolve({
        store,
        cleanup: async () => {
          for (const d of await shared.list()) await shared.delete(d);
          t.cleanup();
        },
      });
    },
  });
} else {
  describe('artifact store: s3', () => {
    it('runs the shared suite only against a configured endpoint (FERRY_TEST_S3_URL + AWS credentials)', { skip: 'no S3 endpoint configured (none can run on the development and CI machines)' }, () => undefined);
  });
}

describe('artifact store: s3 settings', () => {
  it('reads bucket, prefix, region and endpoint from FERRY_ARTIFACTS_URL', () => {
    assert.deepEqual(parseS3Url('s3://models/ferry?region=eu-west-1'), { bucket: 'models', prefix: 'ferry/', region: 'eu-west-1', endpoint: undefined });
    assert.deepEqual(parseS3Url('s3://models/?endpoint=http://127.0.0.1:9000', 'us-west-2'), { bucket: 'models', prefix: '', region: 'us-west-2', endpoint: 'http://127.0.0.1:9000' });
    assert.equal(new S3ArtifactStore({ url: 's3://m/a/b?region=x', accessKeyId: 'k', secretAccessKey: 's' }).location, 's3://m/a/b/');
    assert.throws(() => parseS3Url('s3:///nobucket'), /must look like s3:\/\/<bucket>/);
    assert.throws(() => parseS3Url('s3://b/?endpoint=ftp://x'), /must be an http:\/\/ or https:\/\/ URL/);
  });

  it('an s3:// store needs credentials; other schemes are refused', () => {
    assert.throws(() => loadConfig({ FERRY_HOME: '/nonexistent', FERRY_ARTIFACTS_URL: 's3://models/' }), (e: unknown) => e instanceof FerryError && e.code === 'FERRY_E_CONFIG_INVALID' && /AWS_ACCESS_KEY_ID/.test(e.message));
    const config = loadConfig({ FERRY_HOME: '/nonexistent', FERRY_ARTIFACTS_URL: 's3://models/', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'eu-north-1' });
    assert.equal(config.aws.region, 'eu-north-1');
    assert.throws(() => loadConfig({ FERRY_HOME: '/nonexistent', FERRY_ARTIFACTS_URL: 'ftp://x/' }), /postgres:\/\/ or s3:\/\//);
  });
});

for (const subject of subjects) {
  describe(`artifact store: ${subject.name}`, () => {
    let store: ArtifactStore;
    let opened: { cleanup(): Promise<void> } | undefined;
    before(async () => {
      const o = await subject.open();
      store = o.store;
      opened = o;
    });
    after(() => opened?.cleanup());

    it('stores by content, dedupes, and returns the same bytes', async () => {
      const bytes = randomBytes(10_001);
      const first = await store.put(bytes);
      assert.equal(first.digest, sha256Digest(bytes));
      assert.equal(first.created, true);
      assert.equal((await store.put(bytes)).created, false);
      assert.deepEqual(Buffer.from(await store.get(first.digest, 'm')), bytes);
      assert.equal(await store.has(first.digest), true);
      assert.ok((await store.list()).includes(first.digest));
      assert.ok((await store.storedAt(first.digest)) instanceof Date);
    });

    it('stores empty blobs and blobs of exactly one chunk', async () => {
      for (const size of [0, 1000, 4096]) {
        const bytes = randomBytes(size);
        const { digest } = await store.put(bytes);
        assert.equal((await store.get(digest, 'm')).byteLength, size);
      }
    });

    it('answers FERRY_E_ARTIFACT_MISSING for an unknown digest, and forgets deleted blobs', async () => {
      const bytes = randomBytes(3000);
      const { digest } = await store.put(bytes);
      await store.delete(digest);
      assert.equal(await store.has(digest), false);
      await assert.rejects(store.get(digest, 'gone'), (err: unknown) => err instanceof FerryError && err.code === 'FERRY_E_ARTIFACT_MISSING');
      await store.delete(digest); // deleting twice is fine
    });

    it('lets concurrent writers of the same bytes agree on one blob', async () => {
      const bytes = randomBytes(20_000);
      const results = await Promise.all([store.put(bytes), store.put(bytes), store.put(bytes)]);
      assert.equal(new Set(results.map((r) => r.digest)).size, 1);
      assert.ok(results.some((r) => r.created));
      assert.deepEqual(Buffer.from(await store.get(results[0].digest, 'm')), bytes);
    });
  });
}

describe('postgresql artifact store: integrity', () => {
  it('refuses a blob whose stored bytes were changed (FERRY_E_ARTIFACT_INTEGRITY)', async () => {
    const s = await pgSchema('ferry_arti');
    const store = new PostgresArtifactStore({ url: s.url, chunkBytes: 512 });
    try {
      const { digest } = await store.put(randomBytes(2000));
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(`update "${s.schema}".ferry_artifact_chunks set data = $2 where digest = $1 and seq = 1`, [digest, randomBytes(512)]);
      } finally {
        await client.end();
      }
      await assert.rejects(store.get(digest, 'tampered'), (err: unknown) => err instanceof FerryError && err.code === 'FERRY_E_ARTIFACT_INTEGRITY');
    } finally {
      await store.close();
      await s.cleanup();
    }
  });

  it('refetches a damaged cached copy from the shared store', async () => {
    const s = await pgSchema('ferry_artd');
    const t = tempDir('ferry-artd-');
    const store = new CachedArtifactStore(new PostgresArtifactStore({ url: s.url }), new LocalArtifactStore(t.dir));
    try {
      const bytes = randomBytes(5000);
      const { digest } = await store.put(bytes);
      const hex = digest.slice(7);
      const path = join(t.dir, 'sha256', hex.slice(0, 2), hex);
      const { chmodSync, writeFileSync } = await import('node:fs');
      chmodSync(path, 0o644);
      writeFileSync(path, randomBytes(5000));
      assert.deepEqual(Buffer.from(await store.get(digest, 'm')), bytes);
    } finally {
      await store.close();
      t.cleanup();
      await s.cleanup();
    }
  });
});

describe('a registry on PostgreSQL is the only shared state', () => {
  it('serves a model registered on one home from another home with no shared folder', async () => {
    const s = await pgSchema('ferry_arte');
    const a = tempDir('ferry-home-a-');
    const b = tempDir('ferry-home-b-');
    try {
      const base = { FERRY_DATABASE_URL: s.url, FERRY_ARTIFACTS_URL: s.url, FERRY_ACTOR: 'tester' };
      const envA = { ...base, FERRY_HOME: join(a.dir, 'home') };
      const envB = { ...base, FERRY_HOME: join(b.dir, 'home') };
      const reg = await runCli(['register', join(FIXTURES, 'breast_mlp', 'model.onnx'), '--name', 'mlp'], envA);
      assert.equal(reg.code, 0, reg.stderr);
      assert.equal(existsSync(join(b.dir, 'home', 'artifacts')), false);
      const input = join(FIXTURES, 'breast_mlp', 'input.csv');
      const fromA = await runCli(['predict', 'mlp', '--input', input, '--key', 'id', '--json'], envA);
      const fromB = await runCli(['predict', 'mlp', '--input', input, '--key', 'id', '--json'], envB);
      assert.equal(fromB.code, 0, fromB.stderr);
      assert.equal(fromA.code, 0, fromA.stderr);
      assert.ok(fromA.stdout.length > 10);
      assert.equal(fromB.stdout, fromA.stdout);
      // B now holds a verified local copy, by digest.
      assert.equal(readdirSync(join(b.dir, 'home', 'artifacts', 'sha256')).length, 1);
    } finally {
      a.cleanup();
      b.cleanup();
      await s.cleanup();
    }
  });
});
