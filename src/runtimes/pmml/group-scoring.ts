/**
 * Scoring grouped input (MiningFields with usageType="group", e.g. an AssociationModel's
 * transactions): rows with equal group-field values form one transaction, scored once.
 */
import type { TopModel } from './model.js';
import type { Row, ScoredRow, Value } from './types.js';

/** A named column reader of the input tensors. */
export interface ColumnReader {
  readonly name: string;
  readonly read: (r: number) => Value;
}

/** Score each group of rows as one transaction and write its result to every row of the group. */
export function scoreGroups(model: TopModel, readers: readonly ColumnReader[], rows: number, write: (r: number, fields: ScoredRow['fields']) => void): void {
  for (const group of groupRows(readers, model.groups.map((g) => g.name), rows)) {
    const first = group[0]!;
    const transaction: Row = {
      get: (name) => readers.find((x) => x.name === name)?.read(first) ?? null,
      values: (name) => {
        const read = readers.find((x) => x.name === name)?.read;
        return read ? group.map(read).filter((v) => v !== null) : [];
      },
    };
    const { fields } = model.score(transaction);
    for (const r of group) write(r, fields);
  }
}

/**
 * Rows with equal group-field values, in order of first appearance (one transaction each). Every
 * row of a group gets the group's result.
 */
function groupRows(readers: readonly ColumnReader[], groupFields: readonly string[], rows: number): number[][] {
  const keyReaders = groupFields.map((g) => readers.find((x) => x.name === g)!.read);
  const groups = new Map<string, number[]>();
  for (let r = 0; r < rows; r++) {
    const key = JSON.stringify(keyReaders.map((read) => read(r)));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  return [...groups.values()];
}
