import { useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { Failure } from './components.js';

/**
 * An admin action's state: `run` calls the server and keeps the line to show; a missing or
 * too weak key brings up the key form instead of an error line.
 */
export function useAction(onDone: () => void) {
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [failure, setFailure] = useState<Error | undefined>(undefined);
  const run = async (what: () => Promise<string>) => {
    setResult(null);
    setFailure(undefined);
    try {
      setResult({ ok: true, text: await what() });
      onDone();
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) setFailure(err);
      else setResult({ ok: false, text: (err as Error).message });
    }
  };
  return { run, result, failure };
}

/** What an action said (announced to screen readers), or the key form. */
export function ActionResult({ state, testId }: { state: ReturnType<typeof useAction>; testId: string }) {
  return (
    <>
      {state.result ? <p class={state.result.ok ? 'ok-msg' : 'error'} role="status" data-testid={testId}>{state.result.text}</p> : null}
      <Failure error={state.failure} />
    </>
  );
}
