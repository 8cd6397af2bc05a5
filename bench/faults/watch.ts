import type { RunningPrometheus } from '../../ops/prometheus/server.js';

/**
 * What the platform itself said during a fault: each SUT process's /readyz (polled every
 * 500 ms; no answer counts as not ready) and the alerts a real Prometheus scraping every
 * process raised (pending or firing), with their times from the fault's start.
 */
export interface ProbeTarget {
  name: string;
  /** http://host:port/readyz */
  readyUrl: string;
}

export interface ReadyTimeline {
  /** Seconds from the fault's start to the first not-ready answer (or none); null when it stayed ready. */
  firstRedSec: number | null;
  /** Seconds from the fault's start to ready again after the last red; null when still red at the end or never red. */
  greenAgainSec: number | null;
  /** Dependencies it named failing, ready or not (a database is named without turning it red). */
  failing: string[];
  /** Answers lost (no answer within a second: the process dead, stopped or busy). */
  unanswered: number;
}

export interface AlertSeen {
  alert: string;
  /** The labels that tell instances apart (alertname, severity and job left out). */
  labels: string;
  /** Seconds from the fault's start to pending (Prometheus's activeAt). */
  pendingSec: number;
  /** Seconds from the fault's start to the first poll that saw it firing; null when it never fired. */
  firingSec: number | null;
}

export interface WatchReport {
  ready: Record<string, ReadyTimeline>;
  alerts: AlertSeen[];
  /** Alert polls that failed (Prometheus not answering); the alert list is partial when > 0. */
  alertPollsFailed: number;
}

const round1 = (ms: number): number => Math.round(ms / 100) / 10;

export class FaultWatch {
  private readonly ready = new Map<string, ReadyTimeline & { red: boolean }>();
  private readonly alerts = new Map<string, AlertSeen>();
  private alertPollsFailed = 0;
  private timers: NodeJS.Timeout[] = [];
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly targets: () => ProbeTarget[],
    private readonly prometheus: RunningPrometheus,
    private readonly t0: number,
  ) {}

  start(): void {
    const every = (ms: number, f: () => Promise<void>): void => {
      this.timers.push(
        setInterval(() => {
          const p = f().finally(() => this.inFlight.delete(p));
          this.inFlight.add(p);
        }, ms),
      );
    };
    every(500, () => this.pollReady());
    every(1000, () => this.pollAlerts());
  }

  async stop(): Promise<WatchReport> {
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([...this.inFlight]);
    await this.pollAlerts();
    const ready: Record<string, ReadyTimeline> = {};
    for (const [name, { red: _red, ...t }] of this.ready) ready[name] = t;
    return { ready, alerts: [...this.alerts.values()].sort((a, b) => a.pendingSec - b.pendingSec), alertPollsFailed: this.alertPollsFailed };
  }

  private async pollReady(): Promise<void> {
    await Promise.all(
      this.targets().map(async (t) => {
        const s = this.ready.get(t.name) ?? { firstRedSec: null, greenAgainSec: null, failing: [], unanswered: 0, red: false };
        this.ready.set(t.name, s);
        let ok = false;
        try {
          const res = await fetch(t.readyUrl, { signal: AbortSignal.timeout(1000) });
          ok = res.ok;
          const body = (await res.json().catch(() => ({}))) as { failing?: unknown };
          for (const f of Array.isArray(body.failing) ? body.failing : []) if (typeof f === 'string' && !s.failing.includes(f)) s.failing.push(f);
        } catch {
          s.unanswered++;
        }
        const at = round1(Date.now() - this.t0);
        if (!ok) {
          s.firstRedSec ??= at;
          s.red = true;
          s.greenAgainSec = null;
        } else if (s.red) {
          s.red = false;
          s.greenAgainSec = at;
        }
      }),
    );
  }

  private async pollAlerts(): Promise<void> {
    try {
      for (const a of await this.prometheus.alerts()) {
        const activeAt = Date.parse(a.activeAt);
        if (!(activeAt >= this.t0)) continue;
        const labels = Object.entries(a.labels)
          .filter(([k]) => !['alertname', 'severity', 'job'].includes(k))
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        const id = `${a.labels.alertname}{${labels}}`;
        const seen = this.alerts.get(id) ?? { alert: a.labels.alertname ?? '?', labels, pendingSec: round1(activeAt - this.t0), firingSec: null };
        if (a.state === 'firing') seen.firingSec ??= round1(Date.now() - this.t0);
        this.alerts.set(id, seen);
      }
    } catch {
      this.alertPollsFailed++;
    }
  }
}
