/** Shapes of the /ferry/v1/ answers the pages read (docs/api.md). */

export interface TensorSpec { name: string; dtype: string; shape: number[]; columns?: string[] }
export interface Signature { inputs: TensorSpec[]; outputs: TensorSpec[] }

export interface Version {
  model: string;
  version: number;
  digest: string;
  size: number;
  format: string;
  signature: Signature;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
  lineage: { trainingData?: string; code?: string; parentVersion?: number; source?: Record<string, unknown> };
  description: string;
  createdBy: string;
  createdAt: string;
  archivedAt: string | null;
  aliases: string[];
}

export interface AliasEvent { id: number; alias: string; fromVersion: number | null; toVersion: number | null; actor: string; at: string; note: string | null }

export interface ModelDetail {
  model: { name: string; description: string; tags: Record<string, string>; lastVersion: number };
  versions: { total: number; offset: number; limit: number; items: Version[] };
  aliases: { alias: string; version: number; updatedBy: string; updatedAt: string }[];
  history: AliasEvent[];
  serving: { state: string; route: string | null; canary: { target: string; weight: number }[] | null; shadow: { target: string; share: number } | null; batching: boolean; log: number | null };
}

export interface TrafficPoint { t: number; rps: number; rowsPerS: number; errors: number; p50: number | null; p95: number | null; p99: number | null }
export interface TrafficSeries { model: string; version: string; source: string; requests: number; rows: number; errors: Record<string, number>; rowsPerRequest: number; p50: number | null; p95: number | null; p99: number | null; points: TrafficPoint[] }
export interface Traffic { now: number; seconds: number; step: number; series: TrafficSeries[] }

/** A logged prediction as `GET /ferry/v1/models/{m}/predictions` answers it (`ferry monitor log --json`). */
export interface LoggedPrediction { id: string; model: string; version: number; at: string; source: string; inputs: Record<string, unknown>; outputs: Record<string, unknown>; latencyMs: number; confidence: number | null; lowConfidence: boolean; actual?: unknown; actualAt?: string }
