import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import type { TrafficExport, TrafficRecorder } from '../monitoring/traffic.js';

/** One process's metrics as prom-client's JSON (`Registry.getMetricsAsJSON`), what processes exchange. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * A change to what is served, made through one process, that every other process of the
 * server must apply too: re-read the registry (an alias, promotion or traffic change), or the
 * repository API's load / unload of a model.
 */
export type ServedChange =
  | { readonly kind: 'refresh' }
  | { readonly kind: 'load'; readonly model: string }
  | { readonly kind: 'unload'; readonly model: string };

/** What this process answers when another process of the server asks. */
export interface GroupMember {
  /** This process's own metrics. */
  snapshot(): Promise<MetricsSnapshot>;
  /** Apply a change made through another process; resolves once it is served here. */
  apply(change: ServedChange): Promise<void>;
  /** This process's live traffic of the last `seconds`. */
  traffic(seconds: number): TrafficExport;
}

/**
 * The server processes sharing one port (`ferry serve --processes N`), as one of them sees
 * them. A server of one process is the trivial group (`LONE_PROCESS`); the cluster's is
 * `clusterGroup` (serving/cluster/worker-group.ts). Each process owns its models, batchers and
 * prediction log writer; only metrics and changes to what is served travel between them.
 */
export interface ProcessGroup {
  /** 1…N in a group of N; 0 when this process serves alone. */
  readonly slot: number;
  /** Whether this process runs the once-per-server duties (alert rules, scheduled batch jobs). */
  readonly lead: boolean;
  /** Answer the other processes with `member`; returns what stops answering. */
  join(member: GroupMember): () => void;
  /** Every process's metrics as one registry (counters and histograms summed; see docs/design/serving.md). */
  metrics(own: Registry): Promise<Registry>;
  /** Every process's live traffic of the last `seconds` in one recorder (the dashboard's view of the server). */
  traffic(own: TrafficRecorder, seconds: number): Promise<TrafficRecorder>;
  /** Have every other process apply `change`; resolves once they have (or have stopped). */
  announce(change: ServedChange): Promise<void>;
  /** This process is listening (the group's primary reports the server ready once all are). */
  listening(info: { readonly http: string; readonly grpc: number | null }): void;
}

/** A server that is one process: nothing to tell anyone, its metrics are everything. */
export const LONE_PROCESS: ProcessGroup = Object.freeze({
  slot: 0,
  lead: true,
  join: () => () => undefined,
  metrics: (own: Registry) => Promise.resolve(own),
  traffic: (own: TrafficRecorder) => Promise.resolve(own),
  announce: () => Promise.resolve(),
  listening: () => undefined,
});
