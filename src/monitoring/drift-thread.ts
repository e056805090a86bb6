/**
 * The drift thread: decodes logged predictions and runs the drift tests of a server's monitoring
 * requests (drift, alerts), so its event loop only reads pages of the log. Jobs are independent
 * (several requests at once), each: `start` (profile, input columns, options), `rows` (pages of
 * JSON text), `finish` → the result, or `cancel`.
 */
import { parentPort } from 'node:worker_threads';
import { ferry, isFerryError } from '../core/errors.js';
import { profileDrift } from './drift.js';
import { logColumns, type LoggedRow } from './log-columns.js';
import type { DriftJobReply, DriftJobRequest } from './drift-thread-protocol.js';

interface Job {
  readonly request: Extract<DriftJobRequest, { kind: 'start' }>;
  readonly rows: LoggedRow[];
}

const jobs = new Map<number, Job>();
const port = parentPort;
if (!port) throw ferry('FERRY_E_INTERNAL', { detail: 'drift-thread.ts runs as a worker thread' });

port.on('message', (message: DriftJobRequest) => {
  switch (message.kind) {
    case 'start':
      jobs.set(message.job, { request: message, rows: [] });
      return;
    case 'rows': {
      const job = jobs.get(message.job);
      if (!job) return;
      for (const r of message.rows) job.rows.push({ inputs: JSON.parse(r.inputs) as Record<string, unknown>, outputs: JSON.parse(r.outputs) as Record<string, unknown> });
      return;
    }
    case 'cancel':
      jobs.delete(message.job);
      return;
    case 'finish': {
      const job = jobs.get(message.job);
      jobs.delete(message.job);
      if (!job) return;
      let reply: DriftJobReply;
      try {
        const { inputs, outputs } = logColumns(job.rows, job.request.inputColumns);
        reply = { job: message.job, result: profileDrift(job.request.profile, inputs, outputs, job.request.options) };
      } catch (err) {
        reply = { job: message.job, error: isFerryError(err) ? { code: err.code, params: err.params } : { code: 'FERRY_E_INTERNAL', params: { detail: err instanceof Error ? err.message : String(err) } } };
      }
      port.postMessage(reply);
    }
  }
});
