/**
 * The soak test, short (issue #18, reliability): the same mixed traffic as `npm run soak` against
 * one `ferry serve` on 127.0.0.1 — OIP JSON and binary, MLflow, gRPC, bad requests, alias moves and
 * batch runs from other processes, a Redis stream consumer — for 60 s instead of 10 minutes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { soak, verdict } from '../scripts/soak/soak.js';

describe('soak (short)', () => {
  it('mixed traffic for 60 s: only 2xx/4xx, every stream message answered once, no growth of RSS, descriptors or threads', async () => {
    const report = await soak({ durationMs: 60_000, warmupMs: 20_000, aliasEveryMs: 5_000, batchEveryMs: 15_000, clients: 4 });
    console.log(JSON.stringify(report));
    assert.ok(Object.values(report.requests).every((n) => n > 0), 'every kind of request was sent');
    assert.ok(report.aliasMoves >= 3, `${report.aliasMoves} alias moves`);
    assert.ok(report.batchRuns >= 1);
    assert.ok(report.stream.sent > 0);
    // One minute cannot tell V8 sizing its heap from a leak (RSS moved 0.5 % and 6.5 % in two
    // runs): the memory promise is checked by the 10-minute `npm run soak`; here only as a guard
    // against gross growth (a leak of a model or of request bodies shows as tens of percent).
    assert.deepEqual(verdict(report, 25), []);
  });
});
