import { isRetriable } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first one. */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Multiplier per attempt; the delay is then jittered by +-20% so retries do not synchronise. */
  factor?: number;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Stops early (shutdown). */
  signal?: AbortSignal;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one retry helper: exponential back-off with jitter, never retrying an error that
 * `isRetriable` calls permanent. The last error is rethrown as is.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const factor = options.factor ?? 2;
  let delay = options.initialDelayMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= options.retries || !isRetriable(err) || options.signal?.aborted) throw err;
      const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
      options.onRetry?.(err, attempt + 1, jittered);
      await sleep(jittered);
      delay = Math.min(options.maxDelayMs, delay * factor);
    }
  }
}
