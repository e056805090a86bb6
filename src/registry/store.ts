import type { Alias, AliasEvent, Model, ModelFilter, ModelPage, ModelPageQuery, ModelVersion, NewVersion, Tags, TrafficSetting, TrafficSplitSpec, VersionFilter, VersionPage, VersionPageQuery } from './types.js';

/**
 * Where registry metadata lives. One interface, one implementation per database
 * (sqlite-store.ts, postgres-store.ts); the same test suite runs against each.
 *
 * Every method is atomic. Writes that touch several rows (a version and its aliases, an
 * alias and its history) commit together or not at all.
 */
export interface RegistryStore {
  /** Where the registry is, for messages (a file path or a database URL without password). */
  readonly location: string;

  /** Create a model, or update its description/tags when it exists. */
  upsertModel(name: string, fields: { description?: string; tags?: Tags }): Promise<Model>;
  getModel(name: string): Promise<Model | undefined>;
  listModels(filter?: ModelFilter): Promise<Model[]>;
  /** One page of models in name order with their newest live version, version count and aliases (the dashboard's list). */
  modelPage(query: ModelPageQuery): Promise<ModelPage>;
  /** One page of a model's versions, newest first. */
  versionPage(model: string, query: VersionPageQuery): Promise<VersionPage>;

  /** Allocate the next version number of `model` (creating the model if needed) and store the version. */
  createVersion(input: NewVersion): Promise<ModelVersion>;
  getVersion(model: string, version: number): Promise<ModelVersion | undefined>;
  /** Newest version that is not archived. */
  latestVersion(model: string): Promise<ModelVersion | undefined>;
  listVersions(model: string, filter?: VersionFilter): Promise<ModelVersion[]>;
  /** Archive (or restore, with `archived: false`). Fails with FERRY_E_ALIAS_IN_USE if an alias points at it. */
  setArchived(model: string, version: number, archived: boolean): Promise<ModelVersion>;
  /** Delete a version's metadata; returns it. Fails with FERRY_E_ALIAS_IN_USE if an alias points at it. */
  deleteVersion(model: string, version: number): Promise<ModelVersion>;
  /** Whether any version (of any model) uses this artifact. */
  isDigestReferenced(digest: string): Promise<boolean>;

  /** Point `alias` at `version`, recording the move. Returns the recorded event. */
  setAlias(model: string, alias: string, version: number, actor: string, note?: string): Promise<AliasEvent>;
  /** Remove an alias, recording the move. */
  deleteAlias(model: string, alias: string, actor: string): Promise<AliasEvent>;
  getAlias(model: string, alias: string): Promise<Alias | undefined>;
  listAliases(model: string): Promise<Alias[]>;
  /** Moves of one alias (or all aliases of the model), newest first; the newest `limit` when given. */
  aliasHistory(model: string, alias?: string, limit?: number): Promise<AliasEvent[]>;

  /**
   * Set a model's canary split and shadow mirror (null: remove the setting, so ferry.yaml's
   * applies again), recording it in the alias history under TRAFFIC_HISTORY_ALIAS with `note`.
   * Targets are stored as given; Registry.setTraffic checks them first.
   */
  setTraffic(model: string, traffic: TrafficSplitSpec | null, actor: string, note: string): Promise<AliasEvent>;
  getTraffic(model: string): Promise<TrafficSetting | undefined>;
  /** Every model's traffic setting (a small table: one row per model that has one). */
  listTraffic(): Promise<TrafficSetting[]>;

  /**
   * Be told when a model's versions or aliases change (PostgreSQL LISTEN/NOTIFY), sooner than any
   * poll. Undefined where the store cannot push (SQLite: readers poll). The listener gets the
   * model's name, or undefined when anything may have changed (after a reconnect).
   */
  readonly watch?: (listener: (model: string | undefined) => void) => Promise<{ close(): Promise<void> }>;

  close(): Promise<void>;
}

/**
 * The alias-history name under which traffic changes are recorded: not a valid alias name
 * (parentheses), so it never collides with one.
 */
export const TRAFFIC_HISTORY_ALIAS = '(traffic)';
