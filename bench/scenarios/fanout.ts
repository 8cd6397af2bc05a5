import { intFlag, listFlag } from '../args.js';
import { nowMs, sleep } from '../clock.js';
import type { BenchContext, ScenarioOutput } from '../context.js';
import { summarize, createHistogram, recordMs, type LatencySummary } from '../histogram.js';
import type { TagStat } from '../load/messages.js';
import { WorkerPool } from '../load/pool.js';
import { CpuMeter, untilQuiet } from '../procstat.js';
import { userIds } from '../tokens.js';
import { assign, collectAll, connectAll, round, workersFor } from './common.js';
import type { Target } from './targets.js';
import { addCounts, invalidLabel, stepValidity, type Validity } from '../validity.js';
import { StepRecorder, type StepSeries } from '../step-series.js';

export interface FanoutFigures {
  target: string;
  members: number;
  connected: number;
  readyAfterSec: number | null;
  /** Seconds from the group reaching everyone to the machine quiet (under 0.5 of a core twice in a row); null: it never was within 60 s. */
  settledAfterSec: number | null;
  latency: { messages: number; complete: number; timeToLastMember: LatencySummary; sendToDelivery: LatencySummary };
  throughput: { messages: number; deliveries: number; expected: number; seconds: number; deliveriesPerSec: number };
  cpu: Record<string, number>;
  /** The latency messages and the burst together: all sockets open, every send answered. */
  validity: Validity;
}

/** Per message: did every member get it, and when did the last one. */
export function lastMemberTimes(tags: Map<string, TagStat>, members: number, prefix: string): { complete: number; times: number[] } {
  let complete = 0;
  const times: number[] = [];
  for (const [k, s] of tags) {
    if (!k.startsWith(`f:${prefix}:`)) continue;
    if (s.n >= members) complete++;
    times.push(s.maxMs);
  }
  return { complete, times };
}

/**
 * One sender into a group of `members` online members: first messages spaced apart (time until
 * the last member has each), then a burst (deliveries per second). Deliveries to the sender's
 * own connection are not counted as members'. The step's report series goes to `series`.
 */
export async function measureFanout(
  ctx: BenchContext,
  target: Target,
  members: number,
  o: { latencyMessages: number; burstMessages: number; burstRate: number },
  series: StepSeries[] = [],
): Promise<FanoutFigures> {
  const gid = `g${members}-${Date.now().toString(36)}`;
  /** The throughput-over-time phases are this and probe, latency or burst. */
  const phase = `fanout:${target.name} ${members}`;
  const owner = `${gid}-owner`;
  const memberIds = userIds(`${gid}-m`, members);
  const pool = new WorkerPool(workersFor(members + 1));
  const meter = new CpuMeter(() => new Map([...ctx.sut.pids(), ...pool.pids(), [`sut-${target.name}`, target.serverPid()]]));
  try {
    const all = await target.clients([owner, ...memberIds]);
    // The owner is client 0 of worker 0.
    const a = assign(all.slice(1), pool.workers.length);
    a[0]!.unshift(all[0]!);
    const c = await connectAll(pool, a, { protocol: target.protocol, url: target.url, sourceAddresses: ctx.sourceAddresses, heartbeatMs: 20_000, channel: target.subscribeChannel(gid) });
    ctx.log(`[fanout:${target.name}] ${members} members: ${c.opened}/${c.requested} connected in ${c.seconds} s`);
    await target.prepareGroup(gid, owner, memberIds);
    const send = (count: number, intervalMs: number, tagPrefix: string): Promise<unknown> =>
      pool.workers[0]!.call({ op: 'fanout', sender: 0, target: gid, count, intervalMs, startAt: nowMs() + 100, tagPrefix });

    // Membership reaches the pipeline's tables asynchronously: probe until a message reaches everyone.
    const t0 = Date.now();
    let readyAfterSec: number | null = null;
    ctx.progress.start(`${phase} probe`, pool);
    for (let i = 0; i < 30 && readyAfterSec === null; i++) {
      await send(1, 1, `probe${i}`);
      await sleep(1000);
      const s = await collectAll(pool);
      const got = [...s.tags.values()].reduce((m, t) => Math.max(m, t.n), 0);
      if (got >= members) readyAfterSec = round((Date.now() - t0) / 1000);
    }
    if (readyAfterSec === null) ctx.log(`[fanout:${target.name}] the group never reached all ${members} members; measuring anyway`);
    // The group's setup (membership stored, thousands of logins' bookkeeping) may still be
    // running: the step measures delivery, on a machine that finished it.
    const settledAfterSec = await untilQuiet(0.5, 60);
    ctx.log(`[fanout:${target.name}] ${members} members: machine quiet ${settledAfterSec === null ? 'never within 60 s; measuring anyway' : `after ${settledAfterSec} s`}`);

    meter.begin();
    ctx.progress.start(`${phase} latency`, pool);
    await send(o.latencyMessages, 1000, 'lat');
    await sleep(3000);
    const lat = await collectAll(pool);
    const recorder = new StepRecorder().add(lat);
    const { complete, times } = lastMemberTimes(lat.tags, members, 'lat');
    const h = createHistogram();
    for (const t of times) recordMs(h, t);

    ctx.progress.start(`${phase} burst`, pool);
    const burstStart = nowMs() + 100;
    await send(o.burstMessages, 1000 / o.burstRate, 'burst');
    const expected = o.burstMessages * members;
    const until = Date.now() + 30_000;
    // Collected while it drains: outstanding sends stay outstanding until their answer or the end.
    let burst = await collectAll(pool, true);
    recorder.add(burst);
    let counts = addCounts(burst, { sent: 0, acked: 0, sendErrors: {}, unanswered: 0, delivered: 0 }, false);
    let deliveries = burst.delivered;
    // Deliveries of the measured messages only: a straggling probe copy is not one of them.
    const measured = (t: Map<string, TagStat>): number => [...t].reduce((a, [k, x]) => a + (k.startsWith('f:lat:') || k.startsWith('f:burst:') ? x.n : 0), 0);
    let measuredDeliveries = measured(lat.tags) + measured(burst.tags);
    let lastAt = 0;
    for (const t of burst.tags.values()) lastAt = Math.max(lastAt, t.lastAt);
    while ((deliveries < expected || burst.unanswered > 0) && Date.now() < until) {
      await sleep(500);
      burst = await collectAll(pool, true);
      recorder.add(burst);
      counts = addCounts(counts, burst, true);
      deliveries += burst.delivered;
      measuredDeliveries += measured(burst.tags);
      for (const t of burst.tags.values()) lastAt = Math.max(lastAt, t.lastAt);
    }
    const last = await collectAll(pool);
    recorder.add(last);
    counts = addCounts(lat, addCounts(counts, last, true), false);
    deliveries += last.delivered;
    measuredDeliveries += measured(last.tags);
    for (const t of last.tags.values()) lastAt = Math.max(lastAt, t.lastAt);
    ctx.progress.stop();
    // Every acknowledged group send reaches every member once (the sender's own copy is not counted).
    const validity = stepValidity({ ...counts, delivered: measuredDeliveries, connections: { requested: c.requested, open: last.open }, expectedDeliveries: counts.acked * members });
    const cpu = meter.end();
    const seconds = lastAt > 0 ? (lastAt - burstStart) / 1000 : 0;
    const f: FanoutFigures = {
      target: target.name,
      members,
      connected: c.opened,
      readyAfterSec,
      settledAfterSec,
      latency: { messages: o.latencyMessages, complete, timeToLastMember: summarize(h), sendToDelivery: lat.sendToDelivery },
      throughput: { messages: o.burstMessages, deliveries, expected, seconds: round(seconds), deliveriesPerSec: seconds > 0 ? Math.round(deliveries / seconds) : 0 },
      cpu,
      validity,
    };
    series.push(recorder.series(`${target.name} ${members} members`, validity, cpu, ['probe', 'latency', 'burst'].map((p) => `${phase} ${p}`)));
    const bad = invalidLabel(validity);
    if (bad) ctx.log(`[fanout:${target.name}] ${members}: ${bad}`);
    ctx.log(`[fanout:${target.name}] ${members}: last member p50 ${f.latency.timeToLastMember.p50} ms max ${f.latency.timeToLastMember.max} ms (${complete}/${o.latencyMessages} complete); burst ${deliveries}/${expected} deliveries at ${f.throughput.deliveriesPerSec}/s`);
    return f;
  } finally {
    ctx.progress.stop();
    await pool.close();
  }
}

export function fanoutOptions(ctx: BenchContext): { sizes: number[]; latencyMessages: number; burstMessages: number; burstRate: number } {
  return {
    sizes: listFlag(ctx.flags, 'groups', [100, 1000]),
    latencyMessages: intFlag(ctx.flags, 'fanout-messages', 5),
    burstMessages: intFlag(ctx.flags, 'burst-messages', 20),
    // Under the per-user limits (100 msg/s at the edge and the router).
    burstRate: intFlag(ctx.flags, 'burst-rate', 20),
  };
}

export async function fanoutScenario(ctx: BenchContext, target: Target): Promise<ScenarioOutput> {
  const o = fanoutOptions(ctx);
  const results: FanoutFigures[] = [];
  const steps: StepSeries[] = [];
  for (const size of o.sizes) results.push(await measureFanout(ctx, target, size, o, steps));
  const notes = results.filter((r) => !r.validity.valid).map((r) => `${r.members} members INVALID, not a measurement: ${r.validity.reasons.join('; ')}`);
  return { scenario: 'fanout', configuration: o, figures: { im: results }, latencyCurves: [], steps, notes };
}
