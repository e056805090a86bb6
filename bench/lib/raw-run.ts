/** The floor: `InferenceSession.run` on one row, in process, one call after another. */
import { cpuSnapshot, cpuUsed } from './cpu.js';
import { FEATURES, INPUT_NAME, MODEL_PATH } from './fixture.js';
import { openSession, ort } from './ort-session.js';
import { LatencyRecorder, type Measurement } from './stats.js';

export async function rawRun(row: readonly number[], seconds: number, warmupSeconds: number, maxRequests: number): Promise<Measurement> {
  const session = await openSession(MODEL_PATH);
  try {
    const feeds = { [INPUT_NAME]: new ort.Tensor('float32', Float32Array.from(row), [1, FEATURES]) };
    const loop = async (secs: number): Promise<Measurement> => {
      const recorder = new LatencyRecorder();
      const started = performance.now();
      const before = cpuSnapshot(undefined);
      const deadline = started + secs * 1000;
      while (performance.now() < deadline && recorder.count < maxRequests) {
        const t0 = performance.now();
        const out = await session.run(feeds);
        recorder.ok(performance.now() - t0);
        for (const t of Object.values(out)) t.dispose();
      }
      const m = recorder.measurement((performance.now() - started) / 1000);
      const used = cpuUsed(before, cpuSnapshot(undefined), m.seconds);
      // In process: the bench itself is the "server".
      return { ...m, serverCpuMs: used.clientCpuMs, otherCores: used.otherCores };
    };
    await loop(warmupSeconds);
    return await loop(seconds);
  } finally {
    await session.release();
  }
}
