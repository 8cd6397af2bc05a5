import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import { type RetryOptions, retry } from './retry.js';

/**
 * Logs a stretch of failures of one thing (a processor's records, a producer's sends) as what
 * happened, not once per failure: while a dependency is down every record fails, and one line
 * per record buries the one line that says why. A stretch gives:
 *
 * - `<what>: failing`, at the first failure, with its reason;
 * - `<what>: still failing`, at most once per `summaryEveryMs`, with how many failed since the
 *   line before, for how long it has been failing and the latest reason;
 * - `<what>: recovered`, when the caller says it worked again, with how long it failed and the
 *   totals. A recovery outside a stretch logs nothing, so callers may report every success.
 *
 * Time is the caller's (`now`), so a test drives it with a manual clock.
 */
export interface FailureStretchLogOptions {
  logger: Logger;
  /** The start of every line's message (`retrying records`). */
  what: string;
  /** What the count passed to `failed` counts, as the lines name it (`records`). */
  counting: string;
  /** At most one `still failing` line per this many ms of a stretch. */
  summaryEveryMs: number;
  now: () => number;
  /** Fields on every line (which processor, which task). */
  fields?: Record<string, unknown>;
  /** The level of the `failing` and `still failing` lines; `warn` by default. */
  level?: 'warn' | 'error';
}

interface Stretch {
  since: number;
  lastLineAt: number;
  failures: number;
  counted: number;
  /** Since the last line, for the next summary. */
  failuresSinceLine: number;
  countedSinceLine: number;
}

export class FailureStretchLog {
  private stretch: Stretch | null = null;

  constructor(private readonly o: FailureStretchLogOptions) {}

  /** Whether a stretch is open: failures seen and no recovery since. */
  get failing(): boolean {
    return this.stretch !== null;
  }

  /**
   * One failure. `count`: how many new things it concerns (the records of a failed send; 0 for
   * a further attempt at something already counted).
   */
  failed(err: unknown, count: number): void {
    const at = this.o.now();
    const level = this.o.level ?? 'warn';
    const s = this.stretch;
    if (!s) {
      this.stretch = { since: at, lastLineAt: at, failures: 1, counted: count, failuresSinceLine: 0, countedSinceLine: 0 };
      this.o.logger[level](`${this.o.what}: failing`, { ...this.o.fields, reason: errorMessage(err), [this.o.counting]: count });
      return;
    }
    s.failures++;
    s.counted += count;
    s.failuresSinceLine++;
    s.countedSinceLine += count;
    if (at - s.lastLineAt < this.o.summaryEveryMs) return;
    this.o.logger[level](`${this.o.what}: still failing`, {
      ...this.o.fields,
      reason: errorMessage(err),
      failingForMs: at - s.since,
      failures: s.failuresSinceLine,
      [this.o.counting]: s.countedSinceLine,
    });
    s.lastLineAt = at;
    s.failuresSinceLine = 0;
    s.countedSinceLine = 0;
  }

  /** It worked again: closes the stretch, if one is open, with one line. */
  recovered(): void {
    const s = this.stretch;
    if (!s) return;
    this.stretch = null;
    this.o.logger.info(`${this.o.what}: recovered`, { ...this.o.fields, failedForMs: this.o.now() - s.since, failures: s.failures, [this.o.counting]: s.counted });
  }
}

/**
 * `retry`, its failures and recovery told by `log`: an attempt that works after failing closes
 * the stretch. `count`: how many things one call carries (a batch's records), counted at its
 * first failure. The caller's own `onRetry` (metrics) still runs.
 */
export function retryLogged<T>(log: FailureStretchLog, fn: () => Promise<T>, options: RetryOptions, count = 1): Promise<T> {
  return retry(
    async (attempt) => {
      const result = await fn();
      if (attempt > 0) log.recovered();
      return result;
    },
    {
      ...options,
      onRetry: (err, attempt, delayMs) => {
        options.onRetry?.(err, attempt, delayMs);
        log.failed(err, attempt === 1 ? count : 0);
      },
    },
  );
}
