import type { Generated } from '../vendor/kysely.js';

/** Table shapes as stored (JSON columns hold text in both dialects). */
export interface RegistryDatabase {
  models: ModelsTable;
  model_versions: VersionsTable;
  aliases: AliasesTable;
  alias_events: AliasEventsTable;
  model_traffic: ModelTrafficTable;
}

export interface ModelsTable {
  name: string;
  description: string;
  tags: string;
  created_at: string;
  updated_at: string;
  last_version: number;
}

export interface VersionsTable {
  model_name: string;
  version: number;
  digest: string;
  size: number | string;
  format: string;
  signature: string;
  metrics: string;
  params: string;
  tags: string;
  lineage: string;
  description: string;
  created_by: string;
  created_at: string;
  archived_at: string | null;
}

export interface AliasesTable {
  model_name: string;
  alias: string;
  version: number;
  updated_by: string;
  updated_at: string;
}

export interface AliasEventsTable {
  id: Generated<number>;
  model_name: string;
  alias: string;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  at: string;
  note: string | null;
}

/** A model's canary split and shadow mirror as set in the registry (JSON text; null = none). */
export interface ModelTrafficTable {
  model_name: string;
  canary: string | null;
  shadow: string | null;
  updated_by: string;
  updated_at: string;
}
