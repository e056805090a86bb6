import type { Selectable } from '../vendor/kysely.js';
import type { ModelSignature } from '../core/signature.js';
import type { AliasesTable, AliasEventsTable, ModelsTable, ModelTrafficTable, VersionsTable } from './schema.js';
import type { Alias, AliasEvent, Model, ModelVersion, Tags, TrafficSetting } from './types.js';

/** Stored rows to the registry's types (JSON columns parsed, numbers made numbers in both dialects). */
export function toModel(row: Selectable<ModelsTable>): Model {
  return {
    name: row.name,
    description: row.description,
    tags: JSON.parse(row.tags) as Tags,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastVersion: Number(row.last_version),
  };
}

export function toVersion(row: Selectable<VersionsTable>, aliases: string[]): ModelVersion {
  return {
    model: row.model_name,
    version: Number(row.version),
    digest: row.digest,
    size: Number(row.size),
    format: row.format,
    signature: JSON.parse(row.signature) as ModelSignature,
    metrics: JSON.parse(row.metrics) as Record<string, number>,
    params: JSON.parse(row.params) as Record<string, string>,
    tags: JSON.parse(row.tags) as Tags,
    lineage: JSON.parse(row.lineage) as ModelVersion['lineage'],
    description: row.description,
    createdBy: row.created_by,
    createdAt: row.created_at,
    archivedAt: row.archived_at,
    aliases,
  };
}

export function toAlias(row: Selectable<AliasesTable>): Alias {
  return { model: row.model_name, alias: row.alias, version: Number(row.version), updatedBy: row.updated_by, updatedAt: row.updated_at };
}

export function toEvent(row: Selectable<AliasEventsTable>): AliasEvent {
  return {
    id: Number(row.id),
    model: row.model_name,
    alias: row.alias,
    fromVersion: row.from_version === null ? null : Number(row.from_version),
    toVersion: row.to_version === null ? null : Number(row.to_version),
    actor: row.actor,
    at: row.at,
    note: row.note,
  };
}

export function toTraffic(row: Selectable<ModelTrafficTable>): TrafficSetting {
  return {
    model: row.model_name,
    canary: row.canary === null ? null : JSON.parse(row.canary) as TrafficSetting['canary'],
    shadow: row.shadow === null ? null : JSON.parse(row.shadow) as TrafficSetting['shadow'],
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
  };
}
