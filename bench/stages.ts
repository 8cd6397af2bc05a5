/**
 * Where the time goes: the SUT's `im_stage_seconds` histogram (time since the gateway accepted
 * a frame, observed at each stage of its path; see streams/metrics.ts) read from a Prometheus
 * text snapshot, as percentiles per stage in path order. Bucket-interpolated, so a figure is
 * as fine as the buckets around it (0.5 ms to 10 s).
 */
export interface StageFigure {
  stage: string;
  count: number;
  p50Ms: number;
  p99Ms: number;
}

const BUCKET = /^im_stage_seconds_bucket\{([^}]*)\}\s+(\S+)$/;
const label = (labels: string, name: string): string | undefined => new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(labels)?.[1];

export function stageBreakdown(prom: string): StageFigure[] {
  const byStage = new Map<string, [number, number][]>();
  for (const line of prom.split('\n')) {
    const m = BUCKET.exec(line.trim());
    const stage = m ? label(m[1]!, 'stage') : undefined;
    const le = m ? label(m[1]!, 'le') : undefined;
    if (!m || stage === undefined || le === undefined) continue;
    const n = m[2]!;
    const list = byStage.get(stage) ?? [];
    list.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(n)]);
    byStage.set(stage, list);
  }
  const figures: StageFigure[] = [];
  for (const [stage, buckets] of byStage) {
    buckets.sort((a, b) => a[0] - b[0]);
    const count = buckets[buckets.length - 1]?.[1] ?? 0;
    if (count === 0) continue;
    figures.push({ stage, count, p50Ms: quantile(buckets, count, 0.5), p99Ms: quantile(buckets, count, 0.99) });
  }
  return figures.sort((a, b) => a.p50Ms - b.p50Ms);
}

/** Linear interpolation inside the bucket that holds the rank; the last finite bound caps +Inf. */
function quantile(buckets: [number, number][], count: number, q: number): number {
  const rank = q * count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, cumulative] of buckets) {
    if (cumulative >= rank) {
      if (!Number.isFinite(bound)) return round(lowerBound * 1000);
      const share = cumulative === lowerCount ? 1 : (rank - lowerCount) / (cumulative - lowerCount);
      return round((lowerBound + (bound - lowerBound) * share) * 1000);
    }
    lowerBound = bound;
    lowerCount = cumulative;
  }
  return round(lowerBound * 1000);
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** One line per stage for the summary. */
export function describeStages(figures: readonly StageFigure[]): string {
  return figures.map((f) => `${f.stage} p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms (${f.count})`).join('; ');
}
