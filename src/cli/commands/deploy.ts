import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ferry } from '../../core/errors.js';
import { isKubernetesName, kubernetesManifests, type BatchShards, type StreamConsumer } from '../../deploy/kubernetes.js';
import { FERRY_VERSION } from '../../core/version.js';
import { print, type CliContext } from '../context.js';

interface KubernetesFlags {
  name: string;
  image?: string;
  namespace?: string;
  replicas: string;
  maxReplicas: string;
  dbSecret: string;
  authSecret: string;
  hpa?: boolean;
  targetRps: string;
  keda?: boolean;
  stream: string[];
  lagTarget: string;
  batch?: string;
  batchInput?: string;
  batchOutput?: string;
  batchKey: string[];
  shards: string;
  runId?: string;
  out?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function deployCommand(program: Command, ctx: CliContext): void {
  const deploy = program.command('deploy').description('Write deployment manifests for running Ferry on a platform');
  deploy.command('kubernetes')
    .description('Write Kubernetes manifests: the server Deployment, Service, PodDisruptionBudget and autoscaler, KEDA-scaled stream consumers, an Indexed Job for batch shards (registry and artifacts in PostgreSQL, auth on)')
    .option('--name <name>', 'name of the objects', 'ferry')
    .option('--image <image>', 'container image', `ferry:${FERRY_VERSION}`)
    .option('--namespace <ns>', 'namespace of every object')
    .option('--replicas <n>', 'server replicas (the autoscaler\'s minimum)', '2')
    .option('--max-replicas <n>', 'most replicas the autoscalers may run', '10')
    .option('--db-secret <secret>', 'Secret whose key `url` is the postgres:// URL of the registry and artifact store', 'ferry-db')
    .option('--auth-secret <secret>', 'Secret whose key `api-keys` holds the API keys (one "<key> <scopes>" a line)', 'ferry-api-keys')
    .option('--hpa', 'add a HorizontalPodAutoscaler on CPU and on requests per second per replica')
    .option('--target-rps <n>', 'requests per second per replica the autoscaler aims at', '500')
    .option('--keda', 'scale stream consumers with KEDA on consumer-group lag (with --stream)')
    .option('--stream <ref=input,output,group>', 'a stream consumer: model reference, input and output stream URLs, consumer group (repeatable)', collect, [])
    .option('--lag-target <n>', 'messages of lag per consumer KEDA aims at', '100')
    .option('--batch <ref>', 'add an Indexed Job scoring --batch-input into --batch-output in --shards pods')
    .option('--batch-input <location>', 'the batch job\'s input (file, glob or postgres:// table)')
    .option('--batch-output <location>', 'the batch job\'s output')
    .option('--batch-key <col>', 'key column(s) of the batch job (repeatable)', collect, [])
    .option('--shards <n>', 'pods of the batch job, each running --shard i/n', '4')
    .option('--run-id <id>', 'run id of the batch job (re-applying the same id resumes it)')
    .option('-o, --out <file>', 'write the manifests here instead of printing them')
    .action((opts: KubernetesFlags) => {
      const int = (v: string, flag: string, min: number): number => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < min) throw ferry('FERRY_E_USAGE', { detail: `${flag} must be an integer ≥ ${min} (got "${v}")` });
        return n;
      };
      if (!isKubernetesName(opts.name)) throw ferry('FERRY_E_USAGE', { detail: `--name "${opts.name}" is not a Kubernetes name (lower-case letters, digits and -)` });
      if (opts.stream.length > 0 && !opts.keda) throw ferry('FERRY_E_USAGE', { detail: '--stream needs --keda (stream consumers are scaled by KEDA on their lag)' });
      const streams: StreamConsumer[] = opts.stream.map((spec) => {
        const m = /^([^=]+)=([^,]+),([^,]+),([^,]+)$/.exec(spec);
        if (!m) throw ferry('FERRY_E_USAGE', { detail: `--stream "${spec}" must be <ref>=<input url>,<output url>,<group>` });
        return { model: m[1]!, input: m[2]!, output: m[3]!, group: m[4]!, lagTarget: int(opts.lagTarget, '--lag-target', 1) };
      });
      let batch: BatchShards | undefined;
      if (opts.batch) {
        if (!opts.batchInput || !opts.batchOutput || !opts.runId) throw ferry('FERRY_E_USAGE', { detail: '--batch needs --batch-input, --batch-output and --run-id' });
        if (!isKubernetesName(opts.runId)) throw ferry('FERRY_E_USAGE', { detail: `--run-id "${opts.runId}" must be a Kubernetes name (it names the Job)` });
        batch = { model: opts.batch, input: opts.batchInput, output: opts.batchOutput, keys: opts.batchKey, shards: int(opts.shards, '--shards', 1), runId: opts.runId };
      }
      const docs = kubernetesManifests({
        name: opts.name,
        image: opts.image ?? `ferry:${FERRY_VERSION}`,
        namespace: opts.namespace,
        replicas: int(opts.replicas, '--replicas', 1),
        maxReplicas: int(opts.maxReplicas, '--max-replicas', 1),
        dbSecret: opts.dbSecret,
        authSecret: opts.authSecret,
        hpa: opts.hpa === true,
        targetRps: int(opts.targetRps, '--target-rps', 1),
        streams,
        batch,
      });
      const text = docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
      if (opts.out) {
        writeFileSync(opts.out, text);
        print(ctx, `Wrote ${docs.length} manifest(s) to ${opts.out}.`);
      } else {
        ctx.stdout.write(text);
      }
    });
}
