/**
 * Whether a figure sampled through a soak keeps growing. A leak shows as a slope, not as a high
 * value: the least-squares slope over the samples after the warm-up (caches filling, JIT, pools
 * opening), projected over the span it was measured on, is compared with a tolerance that says
 * how much growth that figure may show without being a leak.
 */
export interface SamplePoint {
  /** Seconds since the soak started. */
  tSec: number;
  value: number;
}

/** Least-squares slope (value per second), or null with fewer than two distinct times. */
export function leastSquaresSlope(points: readonly SamplePoint[]): number | null {
  const n = points.length;
  if (n < 2) return null;
  const mt = points.reduce((s, p) => s + p.tSec, 0) / n;
  const mv = points.reduce((s, p) => s + p.value, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.tSec - mt) * (p.value - mv);
    den += (p.tSec - mt) ** 2;
  }
  return den === 0 ? null : num / den;
}

export interface GrowthVerdict {
  series: string;
  unit: string;
  /** Samples judged (after the warm-up) and the first and last of them. */
  samples: number;
  first: number;
  last: number;
  slopePerHour: number;
  /** The slope times the judged span: how much the figure grew over the soak, by its trend. */
  projectedGrowth: number;
  tolerance: number;
  growing: boolean;
  /** False for a series shown beside another to explain it, never a verdict of its own (never growing). */
  judged: boolean;
}

/** Samples a verdict needs after the warm-up; fewer says nothing about a trend. */
export const MIN_JUDGED_SAMPLES = 4;

/**
 * The verdict for one series, or null when too few samples remain after dropping the first
 * `warmupFraction` of them (at least one).
 */
export function judgeGrowth(
  series: string,
  unit: string,
  points: readonly SamplePoint[],
  tolerance: (firstJudged: number) => number,
  { warmupFraction = 0.25, judged = true }: { warmupFraction?: number; judged?: boolean } = {},
): GrowthVerdict | null {
  const kept = points.slice(Math.max(1, Math.floor(points.length * warmupFraction)));
  if (kept.length < MIN_JUDGED_SAMPLES) return null;
  const slope = leastSquaresSlope(kept);
  if (slope === null) return null;
  const span = kept[kept.length - 1]!.tSec - kept[0]!.tSec;
  const first = kept[0]!.value;
  const projectedGrowth = slope * span;
  const allowed = tolerance(first);
  return { series, unit, samples: kept.length, first, last: kept[kept.length - 1]!.value, slopePerHour: slope * 3600, projectedGrowth, tolerance: allowed, growing: judged && projectedGrowth > allowed, judged };
}

const MiB = 2 ** 20;

/** How much each kind of figure may grow over a soak before it counts as a leak, and why. */
export const SOAK_TOLERANCE = {
  /** Process memory: a garbage-collected heap breathes by a few MiB; 10 % or 16 MiB, whichever is more. */
  bytes: (first: number): number => Math.max(16 * MiB, first * 0.1),
  /** Redis memory: the platform's keys should be bounded by the users online, not by messages sent. */
  redisBytes: (first: number): number => Math.max(8 * MiB, first * 0.1),
  /** Handles and file descriptors: a few come and go with reconnects and pools. */
  handles: (first: number): number => Math.max(10, first * 0.1),
  /** Event-loop delay p99 (seconds): half again, or 20 ms, more at the end is a process falling behind. */
  eventLoopSec: (first: number): number => Math.max(0.02, first * 0.5),
  /** Consumer lag (records): a second of traffic may sit in flight at a sample. */
  lagRecords: (ratePerSec: number) => (): number => Math.max(200, ratePerSec),
  /** Delivery p99 (ms): half again, or 50 ms, whichever is more. */
  latencyMs: (first: number): number => Math.max(50, first * 0.5),
} as const;
