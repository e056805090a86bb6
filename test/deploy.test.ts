/** The deployment files are validated (no Docker engine or cluster here): they parse and agree with the code. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseServeConfig } from '../src/serving/config.js';
import { openApiDocument } from '../src/serving/http/openapi.js';
import { ROOT } from './helpers/env.js';

interface K8s { kind: string; metadata: { name: string }; spec?: Record<string, unknown>; data?: Record<string, string> }

const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kubernetes/ferry.yaml'), 'utf8')).map((d) => {
  assert.deepEqual(d.errors, []);
  return d.toJSON() as K8s;
});

describe('deployment files', () => {
  it('the manifests hold the expected objects', () => {
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']);
  });

  it('the ConfigMap holds a ferry.yaml that Ferry accepts, listening where the container says', () => {
    const config = docs.find((d) => d.kind === 'ConfigMap')!.data!['ferry.yaml']!;
    const parsed = parseServeConfig(parseAllDocuments(config)[0]!.toJSON() as Record<string, unknown>);
    const deployment = docs.find((d) => d.kind === 'Deployment')!;
    const container = (deployment.spec as { template: { spec: { containers: { ports: { name: string; containerPort: number }[]; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } } }[] } } }).template.spec.containers[0]!;
    assert.equal(parsed.host, '0.0.0.0');
    assert.deepEqual(container.ports.map((p) => p.containerPort), [parsed.port, parsed.grpcPort]);
    const paths = Object.keys((openApiDocument('test') as { paths: Record<string, unknown> }).paths);
    assert.ok(paths.includes(container.readinessProbe.httpGet.path));
    assert.ok(paths.includes(container.livenessProbe.httpGet.path));
  });

  it('every path the Dockerfile copies from the repository exists', () => {
    const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    assert.ok(copies.length >= 6);
    for (const p of copies) assert.ok(existsSync(join(ROOT, p)), `${p} is copied but does not exist`);
    assert.match(dockerfile, /^USER node$/m, 'the server does not run as root');
  });
});

describe('batch Indexed Job manifest', () => {
  const job = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kubernetes/batch-job.yaml'), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJSON() as K8s;
  });

  it('is an Indexed Job whose pods each run one shard of the same run with options `ferry batch run` has', async () => {
    const { buildProgram } = await import('../src/cli/main.js');
    const { parseShard } = await import('../src/batch/shard.js');
    assert.deepEqual(job.map((d) => d.kind), ['Job']);
    const spec = job[0]!.spec as { completionMode: string; completions: number; parallelism: number; template: { spec: { restartPolicy: string; containers: { args: string[]; env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[] }[] } } };
    assert.equal(spec.completionMode, 'Indexed');
    assert.equal(spec.template.spec.restartPolicy, 'OnFailure', 'a restarted pod resumes its shard');
    const container = spec.template.spec.containers[0]!;
    const args = container.args;
    assert.deepEqual(args.slice(0, 2), ['batch', 'run']);
    const shard = args[args.indexOf('--shard') + 1]!;
    assert.equal(shard, `$(SHARD_INDEX)/${spec.completions}`);
    for (let i = 0; i < spec.completions; i++) assert.deepEqual(parseShard(shard.replace('$(SHARD_INDEX)', String(i))), { index: i, count: spec.completions });
    assert.match(container.env.find((e) => e.name === 'SHARD_INDEX')!.valueFrom!.fieldRef!.fieldPath, /job-completion-index/);
    assert.ok(args.includes('--run-id') && args.includes('--key'), 'shards share one run id and hash the key');
    const program = await buildProgram({ stdout: process.stdout, stderr: process.stderr, env: {} });
    const run = program.commands.find((c) => c.name() === 'batch')!.commands.find((c) => c.name() === 'run')!;
    const known = new Set(run.options.map((o) => o.long));
    for (const a of args.filter((x) => x.startsWith('--'))) assert.ok(known.has(a), `${a} is an option of ferry batch run`);
    for (const ref of args.flatMap((a) => [...a.matchAll(/\$\((\w+)\)/g)].map((m) => m[1]))) assert.ok(container.env.some((e) => e.name === ref), `$(${ref}) is defined in env`);
  });
});
