import type { Logger } from '../core/logger.js';
import { counter, gauge } from '../core/metrics.js';

/**
 * Whether the services a process depends on answer, for /readyz and for alerts: each
 * dependency is probed on an interval with a timeout (so /readyz itself never waits on one),
 * a change of state is logged once, and `im_dependency_up` shows it to Prometheus.
 * `im_dependency_outages_total` counts the changes to down: a scrape every 15 s may see a 30 s
 * outage once or not at all, and `ImDependencyDown` waits a minute, while the count stays.
 * A critical dependency that does not answer makes the process not ready; the others are only
 * reported (the database: sending and delivery go on without it).
 */
export interface DependencyProbe {
  name: string;
  critical: boolean;
  /** Resolves when the dependency answered; rejects (or outlives the timeout) when it did not. */
  check(): Promise<unknown>;
}

export interface DependencyStatus {
  ready: boolean;
  /** Dependencies that did not answer at the last probe, critical or not. */
  failing: string[];
}

export interface DependencyHealth {
  /** The last probes' verdict; every dependency counts as up until probed. */
  status(): DependencyStatus;
  /** Probes every dependency once, now. */
  probe(): Promise<DependencyStatus>;
  start(intervalMs: number): void;
  stop(): void;
}

const up = gauge('im_dependency_up', '1 while a dependency answered its last probe, 0 after it did not', ['dependency']);
const outages = counter('im_dependency_outages_total', 'Times a dependency stopped answering the probe (changes from up to down)', ['dependency']);

export function createDependencyHealth(probes: readonly DependencyProbe[], options: { timeoutMs: number; logger: Logger }): DependencyHealth {
  const failing = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<DependencyStatus> | null = null;

  const status = (): DependencyStatus => ({
    ready: probes.every((p) => !p.critical || !failing.has(p.name)),
    failing: [...failing].sort(),
  });

  const probeOne = async (p: DependencyProbe): Promise<void> => {
    let timeout: NodeJS.Timeout | undefined;
    let error: string | null = null;
    try {
      await Promise.race([p.check(), new Promise((_, reject) => (timeout = setTimeout(() => reject(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs)))]);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timeout);
    }
    up.set({ dependency: p.name }, error === null ? 1 : 0);
    if (error !== null && !failing.has(p.name)) {
      failing.add(p.name);
      outages.inc({ dependency: p.name });
      options.logger.error('dependency not answering', { dependency: p.name, critical: p.critical, error });
    } else if (error === null && failing.delete(p.name)) {
      options.logger.warn('dependency answering again', { dependency: p.name });
    }
  };

  const probe = (): Promise<DependencyStatus> => {
    running ??= Promise.all(probes.map(probeOne)).then(() => {
      running = null;
      return status();
    });
    return running;
  };

  for (const p of probes) {
    up.set({ dependency: p.name }, 1);
    // At 0 from the start: ImDependencyWentDown fires on any increase, and a series first
    // scraped at 1 shows Prometheus none.
    outages.inc({ dependency: p.name }, 0);
  }
  return {
    status,
    probe,
    start(intervalMs) {
      timer ??= setInterval(() => void probe(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
