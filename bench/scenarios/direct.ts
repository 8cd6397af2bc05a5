import { intFlag, listFlag, strFlag } from '../args.js';
import { nowMs, sleep } from '../clock.js';
import type { BenchContext, ScenarioOutput } from '../context.js';
import { brokers, LagReader } from '../kafka-admin.js';
import { WorkerPool } from '../load/pool.js';
import { CpuMeter } from '../procstat.js';
import { splitRate } from '../scheduler.js';
import { userIds } from '../tokens.js';
import { collectAll, connectAll, saturation, workersFor, type PhaseSummary } from './common.js';
import type { Target } from './targets.js';
import { invalidLabel, stepValidity, type Validity } from '../validity.js';
import { directRoads, scrapeStages, stagesSince, stageTable, type StageBreakdown } from '../stages.js';
import { cpus } from 'node:os';
import { StepRecorder, type StepSeries } from '../step-series.js';

export interface RateStep {
  rate: number;
  seconds: number;
  sent: number;
  acked: number;
  delivered: number;
  errors: Record<string, number>;
  /** Send outcomes: sent = acked + sendErrors + unanswered (validity checks it). */
  sendErrors: Record<string, number>;
  unanswered: number;
  /** Generator sockets open at the end of the step, of those the step needs. */
  open: number;
  connections: number;
  /** INVALID steps are no measurement: neither pass nor fail, not used by the search. */
  validity: Validity;
  achievedDeliveriesPerSec: number;
  sendToAck: PhaseSummary['sendToAck'];
  sendToDelivery: PhaseSummary['sendToDelivery'];
  passes: boolean;
  /** Cores used over the step by each process (CpuMeter), and the wall time they were measured over. */
  cpu: Record<string, number>;
  cpuSeconds: number;
  saturation: { saturated: boolean; reason: string };
  persistenceLagMax: number | null;
  /** Where the step's time went: the SUT's stage increments on the sender's and the recipient's road. */
  stages: StageBreakdown | null;
}

/** A step passes when nearly everything arrived and p99 send-to-delivery stayed under the bound. */
export function stepPasses(s: Pick<RateStep, 'sent' | 'delivered' | 'sendToDelivery'>, p99BoundMs: number): boolean {
  return s.sent > 0 && s.delivered >= s.sent * 0.999 && s.sendToDelivery.p99 < p99BoundMs;
}

/** Next rate of the search: grow by half until a failure, then bisect between pass and fail. */
export function nextSearchRate(passed: number | null, failed: number | null, growth = 1.5): number | null {
  if (passed === null) return failed === null ? null : failed / 2 >= 50 ? Math.round(failed / 2) : null;
  if (failed === null) return Math.round(passed * growth);
  return failed / passed <= 1.15 ? null : Math.round((passed + failed) / 2);
}

export interface DirectRun {
  steps: RateStep[];
  curves: { label: string; curve: PhaseSummary['deliveryCurve'] }[];
  /** The report's series of each step, in the order of `steps`. */
  series: StepSeries[];
  maxRate: number | null;
}

/**
 * Open-loop 1:1 traffic over `pairs` user pairs (sender and recipient on the same worker),
 * at each rate for `seconds`, then the search for the highest rate holding p99 < bound.
 */
export async function runDirect(
  ctx: BenchContext,
  target: Target,
  o: { rates: number[]; seconds: number; pairs: number; search: boolean; searchSteps: number; maxRate: number; p99BoundMs: number; persistenceGroup: string | null },
): Promise<DirectRun> {
  const workers = workersFor(o.pairs * 2);
  const ids = userIds('d-', o.pairs * 2);
  const clients = await target.clients(ids);
  const pool = new WorkerPool(workers);
  const lag = o.persistenceGroup ? new LagReader(brokers(), ctx.sut.topicPrefix) : null;
  const meter = new CpuMeter(() => new Map([...ctx.sut.pids(), ...pool.pids()]));
  const steps: RateStep[] = [];
  const curves: DirectRun['curves'] = [];
  const seriesOf = new Map<RateStep, StepSeries>();
  try {
    // Pairs stay inside one worker: a block of 2 users per pair, blocks dealt round-robin.
    const perWorker: typeof clients[] = Array.from({ length: workers }, () => []);
    for (let p = 0; p < o.pairs; p++) perWorker[p % workers]!.push(clients[2 * p]!, clients[2 * p + 1]!);
    const c = await connectAll(pool, perWorker, { protocol: target.protocol, url: target.url, sourceAddresses: ctx.sourceAddresses, heartbeatMs: 20_000 });
    ctx.log(`[direct] ${c.opened}/${c.requested} connected in ${c.seconds} s${c.failed ? `; failures ${JSON.stringify(c.failures)}` : ''}`);
    const pairsOf = (w: number): [number, number][] => Array.from({ length: perWorker[w]!.length / 2 }, (_, i) => [2 * i, 2 * i + 1]);

    const step = async (rate: number, seconds: number, label: string): Promise<RateStep> => {
      const shares = splitRate(rate, workers);
      const startAt = nowMs() + 500;
      let lagMax: number | null = null;
      let sampling = true;
      const sampler = (async () => {
        while (lag && o.persistenceGroup && sampling) {
          lagMax = Math.max(lagMax ?? 0, await lag.lag(o.persistenceGroup, 'im.msg.stamped').catch(() => 0));
          await sleep(1000);
        }
      })();
      const stagesBefore = await scrapeStages(ctx.sut.metricsUrls);
      meter.begin();
      const cpuFrom = performance.now();
      ctx.progress.start(label, pool);
      await pool.all((w) => (shares[w.index]! > 0 ? { op: 'direct' as const, pairs: pairsOf(w.index), rate: shares[w.index]!, durationMs: seconds * 1000, startAt, drainMs: 10_000 } : null));
      const cpu = meter.end();
      const cpuSeconds = Math.round((performance.now() - cpuFrom) / 10) / 100;
      ctx.progress.stop();
      sampling = false;
      await sampler;
      const s = await collectAll(pool);
      const stages = directRoads(stagesSince(await scrapeStages(ctx.sut.metricsUrls), stagesBefore));
      const closes: Record<string, number> = {};
      for (const st of await pool.all({ op: 'status' as const })) for (const [k, v] of Object.entries(st.closes)) closes[k] = (closes[k] ?? 0) + v;
      const r: RateStep = {
        rate,
        seconds,
        sent: s.sent,
        acked: s.acked,
        delivered: s.delivered,
        errors: s.errors,
        sendErrors: s.sendErrors,
        unanswered: s.unanswered,
        open: s.open,
        connections: c.requested,
        // 1:1: every acknowledged send is one delivery to its recipient.
        validity: stepValidity({ connections: { requested: c.requested, open: s.open, closes }, sent: s.sent, acked: s.acked, sendErrors: s.sendErrors, unanswered: s.unanswered, delivered: s.delivered, expectedDeliveries: s.acked }),
        achievedDeliveriesPerSec: Math.round(s.delivered / seconds),
        sendToAck: s.sendToAck,
        sendToDelivery: s.sendToDelivery,
        passes: false,
        cpu,
        cpuSeconds,
        saturation: saturation(cpu, cpus().length),
        persistenceLagMax: lagMax,
        stages: stages.ack || stages.delivery ? stages : null,
      };
      r.passes = r.validity.valid && stepPasses(r, o.p99BoundMs);
      seriesOf.set(r, new StepRecorder().add(s).series(`${rate}/s`, r.validity, cpu, [label]));
      if (r.validity.valid) curves.push({ label: `${target.name} ${rate}/s delivery`, curve: s.deliveryCurve });
      const verdict = invalidLabel(r.validity) ?? (r.passes ? 'PASS' : 'FAIL');
      ctx.log(`[direct] ${rate}/s: delivered ${s.delivered}/${s.sent}, ack p50 ${s.sendToAck.p50} p99 ${s.sendToAck.p99} ms, delivery p50 ${s.sendToDelivery.p50} p99 ${s.sendToDelivery.p99} ms ${verdict} (${r.saturation.reason})`);
      if (r.stages) ctx.log(`[direct] ${rate}/s where the time goes (increments between consecutive stages, ms):\n${stageTable(r.stages, { ackP50Ms: s.sendToAck.p50, deliveryP50Ms: s.sendToDelivery.p50 }).join('\n')}`);
      return r;
    };

    await step(Math.min(100, o.rates[0] ?? 100), 3, 'direct warm-up');
    for (const rate of o.rates) steps.push(await step(rate, o.seconds, `direct ${rate}/s`));
    let maxRate: number | null = null;
    // No search on top of a step that measured nothing.
    if (o.search && steps.every((s) => s.validity.valid)) {
      let passed = steps.filter((s) => s.passes).reduce<number | null>((m, s) => Math.max(m ?? 0, s.rate), null);
      let failed = steps.filter((s) => !s.passes).reduce<number | null>((m, s) => Math.min(m ?? Infinity, s.rate), null);
      for (let i = 0; i < o.searchSteps; i++) {
        const next = nextSearchRate(passed, failed);
        if (next === null || next > o.maxRate) break;
        const s = await step(next, o.seconds, `direct search ${next}/s`);
        steps.push(s);
        if (!s.validity.valid) break;
        if (s.passes) passed = Math.max(passed ?? 0, next);
        else failed = Math.min(failed ?? Infinity, next);
      }
      maxRate = passed;
    }
    return { steps, curves, series: steps.map((s) => seriesOf.get(s)!), maxRate };
  } finally {
    ctx.progress.stop();
    await lag?.close();
    await pool.close();
  }
}

export async function directScenario(ctx: BenchContext, target: Target): Promise<ScenarioOutput> {
  const o = {
    rates: listFlag(ctx.flags, 'rates', [250, 500, 1000]),
    seconds: intFlag(ctx.flags, 'seconds', 10),
    pairs: intFlag(ctx.flags, 'pairs', 500),
    search: strFlag(ctx.flags, 'search', 'true') !== 'false',
    searchSteps: intFlag(ctx.flags, 'search-steps', 3),
    maxRate: intFlag(ctx.flags, 'max-rate', 50_000),
    p99BoundMs: intFlag(ctx.flags, 'p99-ms', 100),
    persistenceGroup: strFlag(ctx.flags, 'persistence-group', 'im.persistence'),
    /** false: the persistence writer is stopped for the steps, to see the send path without the database's CPU. */
    persistence: strFlag(ctx.flags, 'persistence', 'true') !== 'false',
  };
  if (!o.persistence) await ctx.sut.persistence(false);
  let run: Awaited<ReturnType<typeof runDirect>>;
  try {
    // No writer, no writer lag to sample.
    run = await runDirect(ctx, target, o.persistence ? o : { ...o, persistenceGroup: null });
  } finally {
    if (!o.persistence) await ctx.sut.persistence(true);
  }
  const best = run.steps.filter((s) => s.passes).sort((a, b) => b.rate - a.rate)[0];
  const notes: string[] = o.persistence ? [] : ['persistence writer stopped during the steps (--persistence false): the send path without the database'];
  const invalid = run.steps.filter((s) => !s.validity.valid);
  for (const s of invalid) notes.push(`${s.rate}/s INVALID, not a measurement: ${s.validity.reasons.join('; ')}`);
  if (run.maxRate !== null && best && invalid.length === 0) {
    const failAbove = run.steps.filter((s) => !s.passes && s.rate > best.rate);
    const sat = failAbove.some((s) => s.saturation.saturated);
    notes.push(
      sat
        ? `max rate holding p99 < ${o.p99BoundMs} ms: ${run.maxRate}/s; the SUT was saturated above it (${failAbove.find((s) => s.saturation.saturated)?.saturation.reason})`
        : failAbove.length > 0
          ? `highest passing rate ${run.maxRate}/s, but the failing step above it did not saturate the SUT (${failAbove[0]!.saturation.reason}): not quoted as a maximum`
          : `every tried rate passed up to ${run.maxRate}/s: the maximum is higher than tried`,
    );
  }
  const tables = run.steps
    .filter((s) => s.stages && s.validity.valid)
    .map((s) => ({ title: `where the time goes at ${s.rate}/s (increments between consecutive stages, and each stage's distance from the accept, ms)`, lines: stageTable(s.stages!, { ackP50Ms: s.sendToAck.p50, deliveryP50Ms: s.sendToDelivery.p50 }) }));
  return {
    scenario: 'direct',
    tables,
    configuration: o,
    figures: { steps: run.steps, maxRateP99: invalid.length === 0 ? run.maxRate : null, maxRateQuoted: invalid.length === 0 && (notes[0]?.startsWith('max rate') ?? false), invalidSteps: invalid.length },
    latencyCurves: run.curves,
    steps: run.series,
    notes,
  };
}

