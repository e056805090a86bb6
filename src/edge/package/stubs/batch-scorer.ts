/**
 * Stands in for src/runtimes/pmml/batch-scorer.ts in packages of PMML documents the server compiled
 * without a batch path (src/edge/narrowing.ts): `batchScorer` then returns before making one.
 */
export class BatchScorer {
  score(): undefined {
    return undefined;
  }
}
