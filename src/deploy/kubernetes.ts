/**
 * Kubernetes manifests generated from a few settings instead of kept by hand: the inference
 * Deployment with its Service, PodDisruptionBudget and autoscaler; optional KEDA-scaled stream
 * consumers; an optional Indexed Job for batch shards. Plain objects: the CLI prints them as
 * YAML, the tests validate them against the Kubernetes and KEDA schemas.
 */
import { ferry } from '../core/errors.js';

/** What `ferry deploy kubernetes` is told. */
export interface KubernetesSettings {
  readonly name: string;
  readonly image: string;
  readonly namespace?: string | undefined;
  readonly replicas: number;
  readonly maxReplicas: number;
  /** Secret holding `url` = the registry's postgres:// URL (also the artifact store's). */
  readonly dbSecret: string;
  /** Secret holding `api-keys` (one "<key> <scopes>" a line); auth is always on in a cluster. */
  readonly authSecret: string;
  /** Autoscale on CPU and on each replica's request rate (Prometheus adapter). */
  readonly hpa: boolean;
  /** Requests per second per replica the HPA aims at. */
  readonly targetRps: number;
  /** Stream consumers scaled by KEDA on consumer-group lag. */
  readonly streams: readonly StreamConsumer[];
  readonly batch?: BatchShards | undefined;
}

export interface StreamConsumer {
  readonly model: string;
  readonly input: string;
  readonly output: string;
  readonly group: string;
  /** Messages of lag per consumer KEDA aims at. */
  readonly lagTarget: number;
}

export interface BatchShards {
  readonly model: string;
  readonly input: string;
  readonly output: string;
  readonly keys: readonly string[];
  readonly shards: number;
  readonly runId: string;
}

type Obj = Record<string, unknown>;

const HTTP_PORT = 8080;
const GRPC_PORT = 8081;

/** Every manifest for the settings, in apply order. */
export function kubernetesManifests(s: KubernetesSettings): Obj[] {
  const docs: Obj[] = [configMap(s), deployment(s), service(s), disruptionBudget(s)];
  if (s.hpa) docs.push(autoscaler(s));
  s.streams.forEach((c, i) => docs.push(...streamConsumer(s, c, i)));
  if (s.batch) docs.push(batchJob(s, s.batch));
  return docs;
}

function meta(s: KubernetesSettings, name: string, component: string): Obj {
  return {
    name,
    ...(s.namespace ? { namespace: s.namespace } : {}),
    labels: { 'app.kubernetes.io/name': s.name, 'app.kubernetes.io/component': component },
  };
}

function selector(s: KubernetesSettings, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': s.name, 'app.kubernetes.io/component': component };
}

/** The shared state every pod reads: the registry and the artifacts, both in PostgreSQL. */
function sharedEnv(s: KubernetesSettings): Obj[] {
  const url = { valueFrom: { secretKeyRef: { name: s.dbSecret, key: 'url' } } };
  return [
    { name: 'FERRY_DATABASE_URL', ...url },
    { name: 'FERRY_ARTIFACTS_URL', ...url },
    { name: 'FERRY_HOME', value: '/tmp/ferry' },
    // glibc raises its mmap threshold each time a large block is freed; loading and retiring model
    // versions then leaves their memory in the heap (RSS grew 17 % over 100 alias moves). A fixed
    // threshold keeps large blocks mmapped and returned on free (+1 %, docs/reliability.md).
    { name: 'MALLOC_MMAP_THRESHOLD_', value: '1048576' },
  ];
}

function configMap(s: KubernetesSettings): Obj {
  const ferryYaml = [
    'host: 0.0.0.0',
    `port: ${HTTP_PORT}`,
    `grpc_port: ${GRPC_PORT}`,
    'poll_interval_ms: 10000 # alias moves arrive by LISTEN/NOTIFY; the poll is the fallback',
    'auth:',
    '  enabled: true',
    '  keys_file: /etc/ferry-keys/api-keys',
    'defaults:',
    '  load: eager',
    '',
  ].join('\n');
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(s, `${s.name}-config`, 'server'), data: { 'ferry.yaml': ferryYaml } };
}

function deployment(s: KubernetesSettings): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(s, s.name, 'server'),
    spec: {
      replicas: s.replicas,
      selector: { matchLabels: selector(s, 'server') },
      // A new pod takes traffic only once ready (its models loaded and warmed); none is removed before.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: selector(s, 'server'),
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(HTTP_PORT), 'prometheus.io/path': '/metrics' },
        },
        spec: {
          terminationGracePeriodSeconds: 30,
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          containers: [{
            name: 'ferry',
            image: s.image,
            args: ['serve', '--config', '/etc/ferry/ferry.yaml'],
            env: sharedEnv(s),
            ports: [{ name: 'http', containerPort: HTTP_PORT }, { name: 'grpc', containerPort: GRPC_PORT }],
            readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 5, failureThreshold: 2 },
            livenessProbe: { httpGet: { path: '/v2/health/live', port: 'http' }, periodSeconds: 10 },
            startupProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 2, failureThreshold: 150 },
            resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '4Gi' } },
            volumeMounts: [
              { name: 'config', mountPath: '/etc/ferry' },
              { name: 'api-keys', mountPath: '/etc/ferry-keys', readOnly: true },
              { name: 'home', mountPath: '/tmp/ferry' },
            ],
          }],
          volumes: [
            { name: 'config', configMap: { name: `${s.name}-config` } },
            { name: 'api-keys', secret: { secretName: s.authSecret, defaultMode: 0o400 } },
            // The local cache of artifacts (by digest); the store itself is PostgreSQL.
            { name: 'home', emptyDir: {} },
          ],
        },
      },
    },
  };
}

function service(s: KubernetesSettings): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(s, s.name, 'server'),
    spec: {
      selector: selector(s, 'server'),
      ports: [
        { name: 'http', port: HTTP_PORT, targetPort: 'http' },
        { name: 'grpc', port: GRPC_PORT, targetPort: 'grpc', appProtocol: 'grpc' },
      ],
    },
  };
}

function disruptionBudget(s: KubernetesSettings): Obj {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(s, s.name, 'server'),
    spec: { minAvailable: Math.max(1, s.replicas - 1), selector: { matchLabels: selector(s, 'server') } },
  };
}

/**
 * CPU, and the request rate each replica serves: for a model server CPU lags behind load
 * (batching absorbs bursts), while requests per second per pod is what capacity is measured in.
 * The Pods metric comes from the Prometheus adapter rule in docs/scale.md
 * (`ferry_requests_per_second` = rate(ferry_requests_total[1m]) per pod).
 */
function autoscaler(s: KubernetesSettings): Obj {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(s, s.name, 'server'),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
      minReplicas: s.replicas,
      maxReplicas: s.maxReplicas,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        { type: 'Pods', pods: { metric: { name: 'ferry_requests_per_second' }, target: { type: 'AverageValue', averageValue: String(s.targetRps) } } },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  };
}

/** The broker a stream URL names, and KEDA's trigger for its consumer-group lag. */
function lagTrigger(c: StreamConsumer): Obj {
  const url = new URL(c.input);
  const name = url.pathname.replace(/^\//, '');
  if (url.protocol === 'redis:' || url.protocol === 'rediss:') {
    return {
      type: 'redis-streams',
      metadata: { address: `${url.hostname}:${url.port || '6379'}`, stream: name, consumerGroup: c.group, lagCount: String(c.lagTarget), ...(url.protocol === 'rediss:' ? { enableTLS: 'true' } : {}) },
    };
  }
  if (url.protocol === 'nats:') {
    return {
      type: 'nats-jetstream',
      metadata: { natsServerMonitoringEndpoint: `${url.hostname}:8222`, account: '$G', stream: name, consumer: c.group, lagThreshold: String(c.lagTarget) },
    };
  }
  if (url.protocol === 'amqp:') {
    // The queue is the group: KEDA reads its ready messages (management API, default port 15672).
    return {
      type: 'rabbitmq',
      metadata: { protocol: 'http', host: `http://${url.hostname}:15672${url.searchParams.get('vhost') ? `/${encodeURIComponent(url.searchParams.get('vhost')!)}` : '/'}`, queueName: name, mode: 'QueueLength', value: String(c.lagTarget) },
    };
  }
  throw ferry('FERRY_E_CONFIG_INVALID', { detail: `KEDA scales stream consumers on Redis Streams (redis://), NATS JetStream (nats://) or RabbitMQ (amqp://) lag; "${c.input}" is none of them (MQTT has no consumer-group lag to read)` });
}

function streamConsumer(s: KubernetesSettings, c: StreamConsumer, i: number): Obj[] {
  const name = `${s.name}-stream-${i}`;
  const component = `stream-${i}`;
  const trigger = lagTrigger(c);
  const consumer = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(s, name, component),
    spec: {
      replicas: 1,
      selector: { matchLabels: selector(s, component) },
      template: {
        metadata: { labels: selector(s, component) },
        spec: {
          // A consumer drains its in-flight messages on SIGTERM; the group hands the rest to the others.
          terminationGracePeriodSeconds: 60,
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          containers: [{
            name: 'ferry',
            image: s.image,
            args: ['stream', 'run', c.model, '--input', c.input, '--output', c.output, '--group', c.group],
            env: sharedEnv(s),
            resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '2Gi' } },
            volumeMounts: [{ name: 'home', mountPath: '/tmp/ferry' }],
          }],
          volumes: [{ name: 'home', emptyDir: {} }],
        },
      },
    },
  };
  const scaled = {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: meta(s, name, component),
    spec: {
      scaleTargetRef: { name },
      minReplicaCount: 1,
      maxReplicaCount: s.maxReplicas,
      pollingInterval: 15,
      cooldownPeriod: 300,
      triggers: [trigger],
    },
  };
  return [consumer, scaled];
}

function batchJob(s: KubernetesSettings, b: BatchShards): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(s, `${s.name}-batch-${b.runId}`, 'batch'),
    spec: {
      completionMode: 'Indexed',
      completions: b.shards,
      parallelism: b.shards,
      backoffLimit: b.shards * 3,
      template: {
        metadata: { labels: selector(s, 'batch') },
        spec: {
          // A pod that dies is restarted and resumes its shard from its last checkpoint.
          restartPolicy: 'OnFailure',
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          containers: [{
            name: 'ferry',
            image: s.image,
            args: ['batch', 'run', b.model, '--input', b.input, '--output', b.output, ...b.keys.flatMap((k) => ['--key', k]), '--run-id', b.runId, '--shard', `$(SHARD_INDEX)/${b.shards}`],
            env: [
              { name: 'SHARD_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
              ...sharedEnv(s),
            ],
            resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
            volumeMounts: [{ name: 'home', mountPath: '/tmp/ferry' }],
          }],
          volumes: [{ name: 'home', emptyDir: {} }],
        },
      },
    },
  };
}

/** Names Kubernetes accepts for objects (RFC 1123 labels). */
export function isKubernetesName(name: string): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/.test(name);
}
