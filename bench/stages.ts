/**
 * Where the time goes, from the SUT's stage histograms (core/stages.ts), read from Prometheus
 * text snapshots of every SUT process (the gateway observes its own stages):
 * - `im_stage_seconds{stage}`: time since the gateway accepted the frame (cumulative);
 * - `im_stage_step_seconds{stage,from}`: time since the stage before (the increment).
 * Bucket-interpolated, so a figure is as fine as the buckets around it (0.5 ms to 10 s), and
 * the stamps are whole milliseconds. A step's figures are the difference of two snapshots.
 */
export interface StageFigure {
  stage: string;
  count: number;
  p50Ms: number;
  p99Ms: number;
}

/** Cumulative bucket counts (upper bound in seconds -> count) of one labelled series. */
type Buckets = Map<number, number>;

/** Both histograms, summed over processes: cumulative by stage, increments by `from` then `stage`. */
export interface StageSnapshot {
  total: Map<string, Buckets>;
  step: Map<string, Map<string, Buckets>>;
}

const BUCKET = /^(im_stage_seconds|im_stage_step_seconds)_bucket\{([^}]*)\}\s+(\S+)$/;
const label = (labels: string, name: string): string | undefined => new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(labels)?.[1];

function add(into: Map<string, Buckets>, key: string, le: number, n: number): void {
  let b = into.get(key);
  if (!b) into.set(key, (b = new Map()));
  b.set(le, (b.get(le) ?? 0) + n);
}

/** Parses and sums the stage histograms of several processes' /metrics texts. */
export function readStages(proms: readonly string[]): StageSnapshot {
  const snap: StageSnapshot = { total: new Map(), step: new Map() };
  for (const prom of proms) {
    for (const line of prom.split('\n')) {
      const m = BUCKET.exec(line.trim());
      if (!m) continue;
      const stage = label(m[2]!, 'stage');
      const leText = label(m[2]!, 'le');
      if (stage === undefined || leText === undefined) continue;
      const le = leText === '+Inf' ? Number.POSITIVE_INFINITY : Number(leText);
      const n = Number(m[3]);
      if (m[1] === 'im_stage_seconds') add(snap.total, stage, le, n);
      else {
        const from = label(m[2]!, 'from') ?? '';
        let byStage = snap.step.get(from);
        if (!byStage) snap.step.set(from, (byStage = new Map()));
        add(byStage, stage, le, n);
      }
    }
  }
  return snap;
}

/** What happened between two snapshots of the same processes (counts only grow). */
export function stagesSince(after: StageSnapshot, before: StageSnapshot): StageSnapshot {
  const minus = (a: Map<string, Buckets>, b: Map<string, Buckets> | undefined): Map<string, Buckets> => {
    const out = new Map<string, Buckets>();
    for (const [key, buckets] of a) {
      const earlier = b?.get(key);
      out.set(key, new Map([...buckets].map(([le, n]) => [le, Math.max(0, n - (earlier?.get(le) ?? 0))])));
    }
    return out;
  };
  const step = new Map<string, Map<string, Buckets>>();
  for (const [from, byStage] of after.step) step.set(from, minus(byStage, before.step.get(from)));
  return { total: minus(after.total, before.total), step };
}

function figure(buckets: Buckets | undefined): { count: number; p50Ms: number; p99Ms: number } {
  const sorted = [...(buckets ?? new Map<number, number>())].sort((a, b) => a[0] - b[0]);
  const count = sorted[sorted.length - 1]?.[1] ?? 0;
  if (count === 0) return { count: 0, p50Ms: 0, p99Ms: 0 };
  return { count, p50Ms: quantile(sorted, count, 0.5), p99Ms: quantile(sorted, count, 0.99) };
}

/** Each stage's cumulative figures, in order of their p50 (the order of the path, roughly). */
export function stageFigures(snap: StageSnapshot): StageFigure[] {
  const out: StageFigure[] = [];
  for (const [stage, buckets] of snap.total) {
    const f = figure(buckets);
    if (f.count > 0) out.push({ stage, ...f });
  }
  return out.sort((a, b) => a.p50Ms - b.p50Ms);
}

/** The stage histograms of the SUT's processes now; a process that does not answer adds nothing. */
export async function scrapeStages(metricsUrls: readonly string[]): Promise<StageSnapshot> {
  const texts = await Promise.all(
    metricsUrls.map(async (url) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        return res.ok ? await res.text() : '';
      } catch {
        return '';
      }
    }),
  );
  return readStages(texts);
}

/** Cumulative figures per stage from one or more processes' /metrics texts. */
export function stageBreakdown(...proms: string[]): StageFigure[] {
  return stageFigures(readStages(proms));
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

/** The first stage of every path: the gateway accepted the frame (its time is the header). */
export const ACCEPTED = 'gateway:accepted';
/** Where the two roads a direct message takes end: the sender's ack and the recipient's message. */
export const ROAD_ENDS = { ack: 'gateway:written:ack', delivery: 'gateway:written:message' } as const;

/** One stage of a road: its increment since `from` and its distance from the accept. */
export interface StageRow {
  stage: string;
  from: string;
  count: number;
  p50Ms: number;
  p99Ms: number;
  totalP50Ms: number;
  totalP99Ms: number;
}

export interface StageRoad {
  end: string;
  /** Consecutive stages from the accept to `end`. */
  stages: StageRow[];
  /** Stages observed off the road (a producer hearing its ack while the record travels on). */
  beside: StageRow[];
  /** Sum of the increments' p50s: near `totalP50Ms`, not equal (percentiles do not add). */
  sumP50Ms: number;
  totalP50Ms: number;
  totalP99Ms: number;
}

/**
 * The road to `end`, walked back from it: each stage's predecessor is the `from` most records
 * came from. Null when `end` was never observed.
 */
export function stageRoad(snap: StageSnapshot, end: string): StageRoad | null {
  const into = new Map<string, { from: string; count: number }[]>();
  for (const [from, byStage] of snap.step) {
    for (const [stage, buckets] of byStage) {
      const count = figure(buckets).count;
      if (count > 0) into.set(stage, [...(into.get(stage) ?? []), { from, count }]);
    }
  }
  if (!into.has(end)) return null;
  const names = [end];
  for (let cur = end; cur !== ACCEPTED; ) {
    const best = (into.get(cur) ?? []).sort((a, b) => b.count - a.count || a.from.localeCompare(b.from))[0];
    if (!best || names.includes(best.from)) break;
    names.unshift(best.from);
    cur = best.from;
  }
  const row = (from: string, stage: string): StageRow => {
    const step = figure(snap.step.get(from)?.get(stage));
    const total = figure(snap.total.get(stage));
    return { stage, from, count: step.count, p50Ms: step.p50Ms, p99Ms: step.p99Ms, totalP50Ms: total.p50Ms, totalP99Ms: total.p99Ms };
  };
  const stages = names.slice(1).map((stage, i) => row(names[i]!, stage));
  const on = new Set(names);
  const beside: StageRow[] = [];
  for (const from of names) for (const [stage, buckets] of snap.step.get(from) ?? []) if (!on.has(stage) && figure(buckets).count > 0) beside.push(row(from, stage));
  const last = stages[stages.length - 1];
  return { end, stages, beside, sumP50Ms: round(stages.reduce((s, r) => s + r.p50Ms, 0)), totalP50Ms: last?.totalP50Ms ?? 0, totalP99Ms: last?.totalP99Ms ?? 0 };
}

/** What the generator measured beyond the SUT's last stage (its p50 can only be lower through bucket interpolation or records of the step before). */
function outside(clientP50: number, lastP50: number): string {
  const rest = round(clientP50 - lastP50);
  return rest >= 0
    ? `; the generator measured p50 ${clientP50} ms, so ${rest} ms are outside the SUT's stages (generator, sockets, client's frame to the accept)`
    : `; the generator measured p50 ${clientP50} ms, below the last stage's (its bucket is coarse there, or the window held records of the step before)`;
}

/** A direct step's two roads. */
export interface StageBreakdown {
  ack: StageRoad | null;
  delivery: StageRoad | null;
}

export function directRoads(snap: StageSnapshot): StageBreakdown {
  return { ack: stageRoad(snap, ROAD_ENDS.ack), delivery: stageRoad(snap, ROAD_ENDS.delivery) };
}

/**
 * The breakdown as a markdown table: the recipient's road, then the stages of the sender's ack
 * where it leaves that road, then the stages beside them. `client`: the generator's p50s, whose
 * excess over the SUT's last stage is the generator, the sockets and the network.
 */
export function stageTable(b: StageBreakdown, client: { ackP50Ms: number; deliveryP50Ms: number } | null): string[] {
  const delivery = b.delivery?.stages ?? [];
  const onDelivery = new Set(delivery.map((r) => `${r.from}>${r.stage}`));
  const ackOnly = (b.ack?.stages ?? []).filter((r) => !onDelivery.has(`${r.from}>${r.stage}`));
  const seen = new Set<string>();
  const beside = [...(b.delivery?.beside ?? []), ...(b.ack?.beside ?? [])].filter((r) => {
    const key = `${r.from}>${r.stage}`;
    if (seen.has(key) || onDelivery.has(key) || ackOnly.some((a) => `${a.from}>${a.stage}` === key)) return false;
    seen.add(key);
    return true;
  });
  const line = (road: string, r: StageRow): string => `| ${road} | ${r.from} → ${r.stage} | ${r.p50Ms} | ${r.p99Ms} | ${r.totalP50Ms} | ${r.totalP99Ms} | ${r.count} |`;
  const ackRoad = new Set((b.ack?.stages ?? []).map((r) => `${r.from}>${r.stage}`));
  const lines = [
    '| road | stage (from → to) | p50 + ms | p99 + ms | p50 since accept | p99 since accept | records |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...delivery.map((r) => line(ackRoad.has(`${r.from}>${r.stage}`) ? 'both' : 'delivery', r)),
    ...ackOnly.map((r) => line('ack', r)),
    ...beside.map((r) => line('beside', r)),
  ];
  const sum = (road: StageRoad | null, name: string, clientP50: number | undefined): string | null =>
    road
      ? `${name}: increments' p50s add up to ${road.sumP50Ms} ms, the last stage is at p50 ${road.totalP50Ms} / p99 ${road.totalP99Ms} ms since the accept${clientP50 === undefined ? '' : outside(clientP50, road.totalP50Ms)}`
      : null;
  const totals = [sum(b.delivery, 'recipient', client?.deliveryP50Ms), sum(b.ack, "sender's ack", client?.ackP50Ms)].filter((s): s is string => s !== null);
  return [...lines, '', ...totals.map((t) => `- ${t}`), '- percentiles of increments do not add up exactly to the percentile of the total; p50s come close, p99s do not (a record is rarely slow at every stage at once)'];
}
