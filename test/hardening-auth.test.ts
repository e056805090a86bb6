/**
 * Regression tests for a server open by default where it matters (issue #18): the image and
 * the Kubernetes manifests bound 0.0.0.0 with auth off, and nothing said so.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { isFerryError } from '../src/core/errors.js';
import { readKeysFile } from '../src/serving/auth.js';
import { parseServeConfig } from '../src/serving/config.js';
import { ROOT, tempDir } from './helpers/env.js';
import { fixture, oneRowRequest } from './helpers/fixtures.js';
import { runCli } from './helpers/cli.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';
import { postJson } from './helpers/server.js';

const breast = fixture('breast_mlp');
const body = oneRowRequest(breast);

describe('listening beyond loopback', () => {
  it('binding a non-loopback address without auth is refused unless --insecure-no-auth', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'ferry.internal']) {
      assert.throws(() => parseServeConfig({ host }), (err) => isFerryError(err, 'FERRY_E_CONFIG_INVALID') && /without auth.*--insecure-no-auth/.test(err.message), host);
      assert.throws(() => parseServeConfig({}, { host }), (err) => isFerryError(err, 'FERRY_E_CONFIG_INVALID'), `--host ${host}`);
      assert.equal(parseServeConfig({ host }, { insecureNoAuth: true }).host, host);
      assert.equal(parseServeConfig({ host, insecure_no_auth: true }).insecureNoAuth, true);
      assert.equal(parseServeConfig({ host, auth: { enabled: true } }).auth, true);
      assert.equal(parseServeConfig({ host }, { auth: true }).auth, true);
    }
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]']) assert.equal(parseServeConfig({ host }).host, host);
  });

  it('`ferry serve --host 0.0.0.0` without --auth exits 2 before listening', async () => {
    const tmp = tempDir();
    try {
      const r = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--grpc-port', 'off'], { FERRY_HOME: join(tmp.dir, 'home') });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /FERRY_E_CONFIG_INVALID.*--insecure-no-auth/);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('keys from a file (a mounted Secret)', () => {
  const tmp = tempDir();
  let srv: InProcess;
  let predictKey = '';
  let adminKey = '';
  before(async () => {
    const make = async (scope: string) => {
      const r = await runCli(['apikey', 'create', '--name', `from-file-${scope}`, '--scope', scope, '--no-store'], { FERRY_HOME: join(tmp.dir, 'unused') });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const lines = [await make('predict'), await make('admin')];
    predictKey = lines[0]?.split(' ')[0] ?? '';
    adminKey = lines[1]?.split(' ')[0] ?? '';
    const file = join(tmp.dir, 'api-keys');
    writeFileSync(file, `# keys for the test\n${lines.join('\n')}\n`);
    srv = await startInProcess({ register: [{ path: breast.model, name: 'bc' }], flags: { auth: true, apiKeysFile: file } });
  });
  after(async () => {
    await srv.cleanup();
    tmp.cleanup();
  });

  it('`apikey create --no-store` prints a line the server accepts from --api-keys-file, scopes included', async () => {
    assert.equal((await postJson(`${srv.url}/v2/models/bc/infer`, body)).status, 401);
    assert.equal((await postJson(`${srv.url}/v2/models/bc/infer`, body, { authorization: `Bearer ${predictKey}` })).status, 200);
    assert.equal((await postJson(`${srv.url}/v2/repository/models/bc/unload`, {}, { authorization: `Bearer ${predictKey}` })).status, 403);
    assert.equal((await postJson(`${srv.url}/v2/repository/models/bc/load`, {}, { authorization: `Bearer ${adminKey}` })).status, 200);
  });

  it('a malformed keys file is refused with the line named', async () => {
    const file = join(tmp.dir, 'bad-keys');
    writeFileSync(file, 'fk_short_x predict\n');
    await assert.rejects(readKeysFile(file), (err) => isFerryError(err, 'FERRY_E_CONFIG_INVALID') && /line 1/.test(err.message));
  });
});

describe('shipped deployment files', () => {
  it('the Kubernetes manifests turn auth on with keys from a Secret', () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kubernetes/ferry.yaml'), 'utf8')).map((d) => d.toJSON() as { kind: string; data?: Record<string, string>; spec?: unknown });
    const config = parseServeConfig(parseAllDocuments(docs.find((d) => d.kind === 'ConfigMap')?.data?.['ferry.yaml'] ?? '')[0]?.toJSON() as Record<string, unknown>);
    assert.equal(config.auth, true);
    assert.equal(config.insecureNoAuth, false);
    const pod = (docs.find((d) => d.kind === 'Deployment')?.spec as { template: { spec: { containers: { volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; secret?: { secretName: string } }[] } } }).template.spec;
    const mount = pod.containers[0]?.volumeMounts.find((m) => config.apiKeysFile?.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `keys_file ${config.apiKeysFile} is under a mounted volume`);
    assert.equal(pod.volumes.find((v) => v.name === mount.name)?.secret?.secretName, 'ferry-api-keys');
  });

  it('the image starts with --auth', () => {
    const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
    assert.ok(cmd.includes('--auth'), cmd.join(' '));
    assert.ok(!cmd.includes('--insecure-no-auth'));
  });
});
