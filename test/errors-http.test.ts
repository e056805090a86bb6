/**
 * Errors reaching HTTP clients (issue #11): a bad query parameter is FERRY_E_PARAMETER_INVALID
 * naming the parameter as the client wrote it — never FERRY_E_USAGE, never a CLI flag — and the
 * catalog's `retryable` category says whose fault an error is (a stream consumer dead-letters
 * what is not retryable instead of reading CLI exit codes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorCatalog, ferry } from '../src/core/errors.js';
import { fixture } from './helpers/fixtures.js';
import { startInProcess, type InProcess } from './helpers/inproc.js';

describe('errors at the HTTP boundary', () => {
  let srv: InProcess;
  before(async () => {
    srv = await startInProcess({ register: [{ path: fixture('breast_mlp').model, name: 'bc' }] });
  });
  after(() => srv.cleanup());

  it('bad query parameters name the parameter, with no CLI flag in the message', async () => {
    for (const [path, name] of [
      ['/ferry/v1/models/bc/metrics?window=yesterday', 'window'],
      ['/ferry/v1/models/bc/metrics?last=0', 'last'],
      ['/ferry/v1/models/bc/metrics?window=1h&since=2h', 'since'],
      ['/ferry/v1/models/bc/metrics?since=noon', 'since'],
      ['/ferry/v1/models/bc/metrics?task=clustering', 'task'],
      ['/ferry/v1/models/bc/drift?window=soon', 'window'],
      ['/ferry/v1/models/bc/drift?test=nope', 'test'],
      ['/ferry/v1/models/bc/drift?last=-3', 'last'],
    ] as const) {
      const res = await fetch(`${srv.url}${path}`);
      const body = await res.json() as { code: string; error: string };
      assert.equal(res.status, 400, path);
      assert.equal(body.code, 'FERRY_E_PARAMETER_INVALID', `${path}: ${body.error}`);
      assert.ok(body.error.startsWith(`${name} is not valid: `), `${path}: ${body.error}`);
      assert.doesNotMatch(body.error, /--[a-z]/, `${path}: ${body.error}`);
    }
  });

  it('the catalog says which errors are worth retrying', () => {
    assert.equal(ferry('FERRY_E_VALUE_TYPE', {}).retryable, false, 'bad input is the message\'s fault');
    assert.equal(ferry('FERRY_E_PARAMETER_INVALID', { name: 'x', detail: 'y' }).retryable, false);
    assert.equal(ferry('FERRY_E_MODEL_NOT_READY', { model: 'm', state: 'LOADING', reason: '' }).retryable, true);
    assert.equal(ferry('FERRY_E_INTERNAL', { detail: 'x' }).retryable, true);
    for (const [code, spec] of Object.entries(errorCatalog)) assert.equal(typeof spec.retryable, 'boolean', code);
  });
});
