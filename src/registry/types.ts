import type { ModelSignature } from '../core/signature.js';

/** Free-form labels on models and versions. */
export type Tags = Readonly<Record<string, string>>;

/** A registered model: a name under which versions accumulate. */
export interface Model {
  readonly name: string;
  readonly description: string;
  readonly tags: Tags;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Highest version number ever allocated (numbers are never reused). */
  readonly lastVersion: number;
}

/** Where a version came from. */
export interface Lineage {
  /** Training data reference: a URI, table name, data set version… */
  readonly trainingData?: string;
  /** Code reference: a git commit, a notebook URL… */
  readonly code?: string;
  /** The version this one was trained from or replaces. */
  readonly parentVersion?: number;
  /**
   * The file registered, when Ferry translated it into its own artifact (a scikit-learn pickle):
   * its sha256, container, library versions.
   */
  readonly source?: Readonly<Record<string, string | number | null>>;
}

/** One immutable version of a model. Only `archivedAt` changes after creation. */
export interface ModelVersion {
  readonly model: string;
  readonly version: number;
  readonly digest: string;
  readonly size: number;
  readonly format: string;
  readonly signature: ModelSignature;
  readonly metrics: Readonly<Record<string, number>>;
  readonly params: Readonly<Record<string, string>>;
  readonly tags: Tags;
  readonly lineage: Lineage;
  readonly description: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly archivedAt: string | null;
  /** Aliases pointing at this version (filled by reads). */
  readonly aliases: readonly string[];
}

/** An alias and the version it points at. */
export interface Alias {
  readonly model: string;
  readonly alias: string;
  readonly version: number;
  readonly updatedBy: string;
  readonly updatedAt: string;
}

/** One move of an alias: who moved it, when, from which version to which (null = none). */
export interface AliasEvent {
  readonly id: number;
  readonly model: string;
  readonly alias: string;
  readonly fromVersion: number | null;
  readonly toVersion: number | null;
  readonly actor: string;
  readonly at: string;
  readonly note: string | null;
}

/** What registration stores for a new version (the number is allocated by the store). */
export interface NewVersion {
  readonly model: string;
  readonly digest: string;
  readonly size: number;
  readonly format: string;
  readonly signature: ModelSignature;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly params?: Readonly<Record<string, string>>;
  readonly tags?: Tags;
  readonly lineage?: Lineage;
  readonly description?: string;
  /** Description of the model, used when this version creates it. */
  readonly modelDescription?: string;
  readonly createdBy: string;
  /** Aliases to point at the new version in the same transaction. */
  readonly aliases?: readonly string[];
}

/** Filters for listing models. */
export interface ModelFilter {
  /** Substring of the name or description (case-insensitive). */
  readonly search?: string;
  /** Every given tag must match. */
  readonly tags?: Tags;
}

/** Filters for listing versions. */
export interface VersionFilter {
  readonly includeArchived?: boolean;
  readonly tags?: Tags;
  readonly format?: string;
}

/** A page of a listing: `total` matching rows, `items` from `offset` (at most `limit`). */
export interface Page<T> {
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly items: readonly T[];
}

/** Which models to list, a page at a time. */
export interface ModelPageQuery {
  /** Substring of the name or description (case-insensitive). */
  readonly search?: string | undefined;
  /** Only models that have this alias. */
  readonly alias?: string | undefined;
  readonly offset?: number | undefined;
  /** At most 200. */
  readonly limit?: number | undefined;
}

/** A model as listed: its newest live version, how many versions, where its aliases point. */
export interface ModelSummary extends Model {
  readonly versions: number;
  readonly latest: { readonly version: number; readonly format: string; readonly createdAt: string; readonly createdBy: string; readonly digest: string } | null;
  readonly aliases: readonly { readonly alias: string; readonly version: number }[];
}

export type ModelPage = Page<ModelSummary>;

/** Which versions to list, newest first. */
export interface VersionPageQuery {
  readonly includeArchived?: boolean | undefined;
  readonly offset?: number | undefined;
  /** At most 200. */
  readonly limit?: number | undefined;
}

export type VersionPage = Page<ModelVersion>;

/** One weighted route of a canary split: a pointer (`latest`, an alias or a version number) and its weight. */
export interface TrafficRoute {
  readonly target: string;
  readonly weight: number;
}

/** How a model's requests without a version are split (canary) and mirrored (shadow). */
export interface TrafficSplitSpec {
  /** Weighted targets; null = every request goes to the model's route. */
  readonly canary: readonly TrafficRoute[] | null;
  /** The pointer a share (0..1) of the routed requests is mirrored to; null = no mirror. */
  readonly shadow: { readonly target: string; readonly share: number } | null;
}

/**
 * A model's traffic as set in the registry (`ferry traffic set`, the dashboard): every server
 * replica reads it, and it takes the place of the model's `canary:`/`shadow:` in ferry.yaml.
 */
export interface TrafficSetting extends TrafficSplitSpec {
  readonly model: string;
  readonly updatedBy: string;
  readonly updatedAt: string;
}
