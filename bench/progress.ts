import type { WorkerPool } from './load/pool.js';
import { sampleProc } from './procstat.js';

/** One point of the throughput-over-time series (per second). */
export interface ThroughputPoint {
  t: number;
  phase: string;
  sent: number;
  acked: number;
  delivered: number;
  errors: number;
  open: number;
}

/** One point of memory against connections. */
export interface MemoryPoint {
  target: string;
  connections: number;
  rssBytes: number;
}

/**
 * A line per second on the terminal while a phase runs, from the workers' ticks, plus the
 * series the report charts.
 */
export class Progress {
  readonly throughput: ThroughputPoint[] = [];
  readonly memory: MemoryPoint[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly t0 = Date.now();

  constructor(private readonly write: (line: string) => void) {}

  start(phase: string, pool: WorkerPool, watch?: { target: string; pid: number }): void {
    this.stop();
    let last = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      const dt = (now - last) / 1000;
      last = now;
      const t = pool.takeTicks();
      const per = (n: number): number => Math.round(n / dt);
      const p: ThroughputPoint = { t: Math.round((now - this.t0) / 100) / 10, phase, sent: per(t.sent), acked: per(t.acked), delivered: per(t.delivered), errors: t.errors, open: t.open };
      this.throughput.push(p);
      let mem = '';
      if (watch) {
        const s = sampleProc(watch.pid);
        if (s) {
          this.memory.push({ target: watch.target, connections: t.open, rssBytes: s.rssBytes });
          mem = ` | ${watch.target} rss ${(s.rssBytes / 2 ** 20).toFixed(0)} MiB`;
        }
      }
      this.write(`[${phase}] ${p.t.toFixed(0)}s  open ${p.open}  sent ${p.sent}/s  acked ${p.acked}/s  delivered ${p.delivered}/s  errors ${p.errors}${mem}`);
    }, 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
