/**
 * `ferry deploy kubernetes` writes manifests that the Kubernetes and KEDA schemas accept
 * (vendored in kubernetes-models; no cluster here), that run commands Ferry has, and that
 * keep the shared state in PostgreSQL with auth on. The committed deploy/kubernetes/ferry.yaml
 * is the generator's output, not a hand-kept copy.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { parseServeConfig } from '../src/serving/config.js';
import { ROOT } from './helpers/env.js';

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown>; data?: Record<string, string> };

const MODELS: Record<string, new (d: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

/** Run `ferry deploy …` in this process; stdout and the exit code. */
async function deployCli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../src/cli/main.js');
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) => new Writable({ write(chunk: Buffer, _e, cb) { f(chunk.toString()); cb(); } });
  const code = await main(['node', 'ferry', 'deploy', 'kubernetes', ...args], { stdout: sink((s) => { out += s; }), stderr: sink((s) => { err += s; }), env: {} });
  return { code, out, err };
}

function parse(text: string): Doc[] {
  return parseAllDocuments(text).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJSON() as Doc;
  });
}

function validateAll(docs: readonly Doc[]): void {
  for (const doc of docs) {
    const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    assert.ok(Model, `no schema for ${doc.apiVersion} ${doc.kind}`);
    new Model(doc as never).validate();
  }
}

describe('ferry deploy kubernetes', () => {
  it('writes schema-valid server manifests: auth on from a Secret, registry and artifacts in PostgreSQL, an HPA on CPU and requests per replica', async () => {
    const { code, out, err } = await deployCli(['--hpa', '--replicas', '3', '--target-rps', '800']);
    assert.equal(code, 0, err);
    const docs = parse(out);
    validateAll(docs);
    assert.deepEqual(docs.map((d) => d.kind), ['ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']);
    const config = parseServeConfig(parseAllDocuments(docs[0]!.data!['ferry.yaml']!)[0]!.toJSON() as Record<string, unknown>);
    assert.equal(config.auth, true);
    const deployment = docs[1]!.spec as { replicas: number; template: { spec: { containers: { env: { name: string; valueFrom?: { secretKeyRef: { name: string } } }[] }[] } } };
    assert.equal(deployment.replicas, 3);
    const env = deployment.template.spec.containers[0]!.env;
    for (const name of ['FERRY_DATABASE_URL', 'FERRY_ARTIFACTS_URL']) assert.equal(env.find((e) => e.name === name)?.valueFrom?.secretKeyRef.name, 'ferry-db');
    const hpa = docs[4]!.spec as { minReplicas: number; metrics: { type: string; pods?: { metric: { name: string }; target: { averageValue: string } } }[] };
    assert.equal(hpa.minReplicas, 3);
    assert.deepEqual(hpa.metrics.map((m) => m.type), ['Resource', 'Pods']);
    assert.equal(hpa.metrics[1]!.pods!.target.averageValue, '800');
  });

  it('adds KEDA-scaled stream consumers on Redis Streams, NATS JetStream and RabbitMQ lag, and refuses MQTT', async () => {
    const { code, out, err } = await deployCli(['--keda',
      '--stream', 'churn@champion=redis://redis:6379/in,redis://redis:6379/out,scorers',
      '--stream', 'fraud=nats://nats:4222/tx,nats://nats:4222/scores,fraud-scorers',
      '--stream', 'risk=amqp://rabbit:5672/claims,amqp://rabbit:5672/risk-scores,claims']);
    assert.equal(code, 0, err);
    const docs = parse(out);
    validateAll(docs);
    const scaled = docs.filter((d) => d.kind === 'ScaledObject').map((d) => (d.spec as { triggers: { type: string; metadata: Record<string, string> }[] }).triggers[0]!);
    assert.deepEqual(scaled.map((t) => t.type), ['redis-streams', 'nats-jetstream', 'rabbitmq']);
    assert.equal(scaled[0]!.metadata.consumerGroup, 'scorers');
    assert.equal(scaled[1]!.metadata.consumer, 'fraud-scorers');
    assert.deepEqual(scaled[2]!.metadata, { protocol: 'http', host: 'http://rabbit:15672/', queueName: 'claims', mode: 'QueueLength', value: scaled[2]!.metadata.value });
    const consumers = docs.filter((d) => d.kind === 'Deployment' && d.metadata.name.includes('stream'));
    const args = (consumers[0]!.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args;
    assert.deepEqual(args.slice(0, 3), ['stream', 'run', 'churn@champion']);
    const mqtt = await deployCli(['--keda', '--stream', 'm=mqtt://broker:1883/in,mqtt://broker:1883/out,g']);
    assert.equal(mqtt.code, 2);
    assert.match(mqtt.err, /MQTT has no consumer-group lag/);
  });

  it('adds an Indexed Job whose pods each run one shard with options ferry batch run has', async () => {
    const { code, out, err } = await deployCli(['--batch', 'churn@champion', '--batch-input', 'postgres://wh/db?table=customers', '--batch-output', 'postgres://wh/db?table=scores', '--batch-key', 'customer_id', '--shards', '6', '--run-id', 'churn-2026-12-05']);
    assert.equal(code, 0, err);
    const docs = parse(out);
    validateAll(docs);
    const job = docs.find((d) => d.kind === 'Job')!.spec as { completionMode: string; completions: number; template: { spec: { containers: { args: string[] }[] } } };
    assert.equal(job.completionMode, 'Indexed');
    assert.equal(job.completions, 6);
    const args = job.template.spec.containers[0]!.args;
    assert.equal(args[args.indexOf('--shard') + 1], '$(SHARD_INDEX)/6');
    const { buildProgram } = await import('../src/cli/main.js');
    const program = await buildProgram({ stdout: process.stdout, stderr: process.stderr, env: {} });
    const run = program.commands.find((c) => c.name() === 'batch')!.commands.find((c) => c.name() === 'run')!;
    const known = new Set(run.options.map((o) => o.long));
    for (const a of args.filter((x) => x.startsWith('--'))) assert.ok(known.has(a), `${a} is an option of ferry batch run`);
  });

  it('refuses bad settings with a usage error naming the flag', async () => {
    for (const [args, pattern] of [[['--replicas', '0'], /--replicas/], [['--name', 'Bad_Name'], /--name/], [['--stream', 'a=redis://r/in,redis://r/out,g'], /--keda/]] as const) {
      const r = await deployCli(args);
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, pattern);
    }
  });

  it('the committed deploy/kubernetes/ferry.yaml is the generator\'s output (ferry deploy kubernetes --hpa)', async () => {
    const { out } = await deployCli(['--hpa']);
    const committed = readFileSync(join(ROOT, 'deploy/kubernetes/ferry.yaml'), 'utf8');
    assert.equal(committed.slice(committed.indexOf('apiVersion')), out, 'regenerate: ferry deploy kubernetes --hpa (see the file\'s header)');
  });
});
