/** A row to write: key/passthrough cells and output values, by column name. */
export type OutputRecord = Readonly<Record<string, unknown>>;
