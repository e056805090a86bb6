/** Dynamic batching in the scoring core: joining, limits, preferred sizes, queue bound, timeouts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFerryError } from '../src/core/errors.js';
import type { Tensor } from '../src/core/tensor.js';
import { adaptiveWaitUs, Batcher, DEFAULT_BATCH_POLICY, type BatchPolicy } from '../src/scoring/batcher.js';

/** A runtime stand-in that doubles its input and records the batch sizes it was called with. */
function doubler(delayMs = 0) {
  const calls: number[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  // A held call keeps the process alive as a real runtime's worker thread does; nothing else would
  // (the batcher's deadline timer is unref'd), and the event loop would drain before a deadline.
  let busy: NodeJS.Timeout | undefined;
  const run = async (inputs: Record<string, Tensor>) => {
    const x = inputs.x!;
    calls.push(x.shape[0]!);
    await gate;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    const data = Float32Array.from(x.data as Float32Array, (v) => v * 2);
    return { y: { dtype: 'float32' as const, shape: [...x.shape], data } };
  };
  return {
    calls,
    run,
    /** Hold every runtime call until `release()`. */
    hold: () => {
      busy = setInterval(() => undefined, 60_000);
      gate = new Promise((r) => { open = r; });
    },
    release: () => {
      clearInterval(busy);
      open();
    },
  };
}

const req = (values: number[], width = 1): Record<string, Tensor> => ({ x: { dtype: 'float32', shape: [values.length / width, width], data: Float32Array.from(values) } });
const policy = (p: Partial<BatchPolicy>): BatchPolicy => ({ ...DEFAULT_BATCH_POLICY, ...p });
const values = (r: { outputs: Record<string, Tensor> }) => Array.from(r.outputs.y!.data as Float32Array);

/** Let queued work and timers that are due run. */
const tick = () => new Promise((r) => setImmediate(r));

describe('Batcher', () => {
  it('a lone request on an idle runtime runs at once, without waiting the delay', async () => {
    const rt = doubler();
    const b = new Batcher(rt.run, policy({ maxBatchSize: 8, maxQueueDelayUs: 10_000_000 }), 'm');
    assert.deepEqual(values(await b.submit(req([21]), 1)), [42]);
    assert.deepEqual(rt.calls, [1]);
  });

  it('requests that arrive in one turn of the event loop on an idle runtime share one call (the first does not go alone)', async () => {
    const rt = doubler();
    const b = new Batcher(rt.run, policy({ maxBatchSize: 8, maxQueueDelayUs: 10_000_000, maxInflight: 2 }), 'm');
    const all = [1, 2, 3].map((v) => b.submit(req([v]), 1));
    assert.deepEqual(rt.calls, [], 'nothing runs before the turn ends');
    assert.deepEqual((await Promise.all(all)).map(values), [[2], [4], [6]]);
    assert.deepEqual(rt.calls, [3]);
  });

  it('requests arriving while a batch runs are joined into one call, answers split back in order', async () => {
    const rt = doubler();
    rt.hold();
    const b = new Batcher(rt.run, policy({ maxBatchSize: 8, maxQueueDelayUs: 20_000, maxInflight: 1 }), 'm');
    const first = b.submit(req([0]), 1);
    await tick();
    const rest = [req([1]), req([2, 3], 1), req([4])].map((t) => b.submit(t, t.x!.shape[0]!));
    rt.release();
    const results = await Promise.all([first, ...rest]);
    assert.deepEqual(rt.calls, [1, 4]);
    assert.deepEqual(results.map(values), [[0], [2], [4, 6], [8]]);
  });

  it('dispatches as soon as max_batch_size rows are waiting, without waiting for the delay', async () => {
    const rt = doubler();
    rt.hold();
    const b = new Batcher(rt.run, policy({ maxBatchSize: 2, maxQueueDelayUs: 10_000_000, maxInflight: 2 }), 'm');
    const all = [0, 1, 2].map((v) => b.submit(req([v]), 1));
    assert.deepEqual(rt.calls, [2], 'two rows waiting: dispatched at once, before the end of this turn of the event loop');
    await tick();
    assert.deepEqual(rt.calls, [2], 'the third waits for company while the first batch runs (the delay is long)');
    rt.release();
    assert.deepEqual((await Promise.all(all)).map(values), [[0], [2], [4]]);
    assert.deepEqual(rt.calls, [2, 1], 'and goes when the runtime is free again');
  });

  it('dispatches at a preferred batch size', async () => {
    const rt = doubler();
    rt.hold();
    const b = new Batcher(rt.run, policy({ maxBatchSize: 64, preferredBatchSizes: [3], maxQueueDelayUs: 10_000_000, maxInflight: 2 }), 'm');
    const all = [0, 1, 2, 3].map((v) => b.submit(req([v]), 1));
    assert.deepEqual(rt.calls, [3]);
    await tick();
    assert.deepEqual(rt.calls, [3]);
    rt.release();
    await Promise.all(all);
    assert.deepEqual(rt.calls, [3, 1]);
  });

  it('never mixes requests whose non-batch shapes differ', async () => {
    const rt = doubler();
    rt.hold();
    const b = new Batcher(rt.run, policy({ maxBatchSize: 16, maxQueueDelayUs: 20_000, maxInflight: 1 }), 'm');
    const first = b.submit(req([9, 9], 2), 1);
    await tick();
    const queued = [b.submit(req([1, 2], 2), 1), b.submit(req([5, 6, 7], 3), 1), b.submit(req([3, 4], 2), 1)];
    rt.release();
    const [, a, w, c] = await Promise.all([first, ...queued]);
    assert.deepEqual(rt.calls, [1, 2, 1]);
    assert.deepEqual([values(a!), values(w!), values(c!)], [[2, 4], [10, 12, 14], [6, 8]]);
  });

  it('a full queue refuses new requests with FERRY_E_QUEUE_FULL (429) instead of growing', async () => {
    const rt = doubler();
    rt.hold();
    const b = new Batcher(rt.run, policy({ maxBatchSize: 1, maxQueueDelayUs: 0, maxQueueSize: 2, maxInflight: 1 }), 'm');
    const running = b.submit(req([1]), 1); // taken by the (held) runtime
    await tick();
    const queued = [b.submit(req([2]), 1), b.submit(req([3]), 1)];
    await assert.rejects(b.submit(req([4]), 1), (e) => isFerryError(e, 'FERRY_E_QUEUE_FULL') && e.httpStatus === 429);
    rt.release();
    assert.deepEqual((await Promise.all([running, ...queued])).map(values), [[2], [4], [6]]);
  });

  it('a request that waits longer than its timeout fails with FERRY_E_TIMEOUT (504) and leaves the queue', async () => {
    const rt = doubler();
    rt.hold();
    const b = new Batcher(rt.run, policy({ maxBatchSize: 1, maxQueueDelayUs: 0, timeoutMs: 50, maxInflight: 1 }), 'm');
    const first = b.submit(req([1]), 1);
    const firstFails = assert.rejects(first, (e) => isFerryError(e, 'FERRY_E_TIMEOUT'), 'the held call also passed its deadline');
    await tick();
    const second = b.submit(req([2]), 1);
    await assert.rejects(second, (e) => isFerryError(e, 'FERRY_E_TIMEOUT') && e.httpStatus === 504);
    assert.equal(b.queued, 0);
    rt.release();
    await firstFails;
    assert.deepEqual(rt.calls, [1], 'the timed-out queued request never reached the runtime');
  });

  it('a batch of several requests that fails runs each request alone: only the one that fails alone fails', async () => {
    const calls: number[][] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => { open = r; });
    const b = new Batcher(async (inputs) => {
      const x = [...(inputs.x?.data as Float32Array)];
      calls.push(x);
      await gate;
      if (x.includes(2)) throw new Error('boom'); // request c's row makes any batch holding it fail
      return { y: inputs.x! };
    }, policy({ maxBatchSize: 2, maxQueueDelayUs: 10_000_000, maxInflight: 2 }), 'm');
    const first = b.submit(req([0]), 1);
    await tick();
    const [a, c, d] = [b.submit(req([1]), 1), b.submit(req([2]), 1), b.submit(req([3]), 1)];
    const failed = assert.rejects(c, (e: unknown) => isFerryError(e, 'FERRY_E_PREDICTION_FAILED') && /boom/.test(e.message));
    open();
    assert.deepEqual(values(await first), [0]);
    assert.deepEqual(values(await a), [1], 'batched with the failing request, it is run again alone');
    await failed;
    assert.deepEqual(values(await d), [3], 'the next batch runs normally');
    assert.deepEqual(calls.slice(0, 2), [[0], [1, 2]]);
    assert.ok(calls.some((x) => x.length === 1 && x[0] === 1) && calls.some((x) => x.length === 1 && x[0] === 2), JSON.stringify(calls));
  });

  it('a lone request that fails is not run again', async () => {
    let n = 0;
    const b = new Batcher(() => {
      n++;
      return Promise.reject(new Error('boom'));
    }, policy({}), 'm');
    await assert.rejects(b.submit(req([1]), 1), /boom/);
    assert.equal(n, 1);
  });

  it('closing fails what is still queued with FERRY_E_SHUTTING_DOWN and refuses new work', async () => {
    const rt = doubler();
    rt.hold();
    const b = new Batcher(rt.run, policy({ maxInflight: 1 }), 'm');
    const running = b.submit(req([1]), 1);
    await tick();
    const queued = assert.rejects(b.submit(req([2]), 1), (e) => isFerryError(e, 'FERRY_E_SHUTTING_DOWN'));
    b.close();
    await queued;
    await assert.rejects(b.submit(req([3]), 1), (e) => isFerryError(e, 'FERRY_E_SHUTTING_DOWN'));
    rt.release();
    assert.deepEqual(values(await running), [2], 'a batch already running still finishes');
  });
});

describe('adaptive queue delay', () => {
  const p = { maxQueueDelayUs: 2000, maxBatchSize: 64 };

  it('waits the configured maximum until arrivals and compute time have been observed', () => {
    assert.equal(adaptiveWaitUs(p, 500, 1, undefined, undefined, 0), 1500);
    assert.equal(adaptiveWaitUs(p, 500, 1, 10, undefined, 0), 1500);
  });

  it('waits no longer than the running batch is expected to take, nor than the missing rows take to arrive', () => {
    assert.equal(adaptiveWaitUs(p, 0, 1, 10, 300, 100), 200, 'the running batch ends in ~200 µs');
    assert.equal(adaptiveWaitUs(p, 0, 60, 10, 5000, 0), 40, '4 rows missing, one every 10 µs');
    assert.equal(adaptiveWaitUs(p, 1900, 1, 10, 5000, 0), 100, 'never past the configured maximum');
  });

  it('does not wait when nobody is expected before the runtime is free again', () => {
    assert.equal(adaptiveWaitUs(p, 0, 1, 500, 300, 0), 0, 'requests come every 500 µs, the batch takes 300');
    assert.equal(adaptiveWaitUs(p, 0, 1, 10, 300, 400), 0, 'the running batch is overdue');
  });
});
