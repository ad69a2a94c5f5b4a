import { ApiError } from './api.js';

/**
 * Run `tick` now and then `everyMs` after each run finishes (never overlapping). Errors are
 * passed to `onError` (an auth error also to `onAuth`); polling goes on. Returns a stop function.
 */
export function poll(tick: () => Promise<void>, everyMs: number, onError: (err: unknown) => void): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async (): Promise<void> => {
    try {
      await tick();
    } catch (err) {
      if (!stopped) onError(err);
    }
    if (!stopped) timer = setTimeout(() => void run(), everyMs);
  };
  void run();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}

export function describeError(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
