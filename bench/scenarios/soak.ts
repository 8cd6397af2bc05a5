import { Redis } from 'ioredis';
import { sampleSum } from '../../core/prometheus-text.js';
import { intFlag } from '../args.js';
import { nowMs, sleep } from '../clock.js';
import type { BenchContext, ScenarioOutput } from '../context.js';
import { brokers, LagReader } from '../kafka-admin.js';
import { WorkerPool } from '../load/pool.js';
import { sampleProc } from '../procstat.js';
import { splitRate } from '../scheduler.js';
import { judgeGrowth, SOAK_TOLERANCE, type GrowthVerdict, type SamplePoint } from '../slopes.js';
import { userIds } from '../tokens.js';
import { invalidLabel, stepValidity, type Validity } from '../validity.js';
import { collectAll, connectAll, workersFor } from './common.js';
import type { RateStep } from './direct.js';
import type { Target } from './targets.js';

/**
 * Half the highest sustained 1:1 rate for a long time (30 minutes by default), sampled at the
 * end of every window: each process's memory, each SUT process's heap (committed and used), what
 * its RSS holds outside the heap (external memory and array buffers among it), handles, file
 * descriptors and event-loop delay, the pipeline's consumer lag, Redis's memory, and the window's
 * latency. What matters is the slope: a figure that keeps growing is a leak or a
 * backlog, however small it still is at the end.
 */
export interface SoakWindow extends ProcessSample {
  /** Seconds since the soak's first send, at the sample. */
  tSec: number;
  sent: number;
  delivered: number;
  validity: Validity;
  deliveryP50Ms: number;
  deliveryP99Ms: number;
  persistenceLag: number | null;
  redisUsedBytes: number | null;
}

export interface SoakFigures {
  rate: number;
  rateSource: string;
  minutes: number;
  windowSec: number;
  windows: SoakWindow[];
  growth: GrowthVerdict[];
  growing: string[];
  /** Every window measured what it claims to; otherwise the slopes say nothing. */
  validity: Validity;
  passes: boolean;
}

/** Samples within a window: often enough for a minimum that finds the heap after a collection. */
const SAMPLE_EVERY_MS = 5_000;
/** From the signal to a sample of the collected heap: a full collection of a ~100 MiB heap takes well under a second. */
const AFTER_COLLECTION_MS = 1_000;

/**
 * What one sample reads, by process. A window keeps RSS (every process that matters, stack and
 * SUT) and heap at their lowest, event-loop p99 the median of its samples, the rest at its end.
 */
interface ProcessSample {
  rssBytes: Record<string, number>;
  /** From each SUT process's /metrics page (`SutMetrics`). */
  heapUsedBytes: Record<string, number>;
  /**
   * The JS heap's committed size (`nodejs_heap_size_total_bytes`): what of RSS the heap holds,
   * used or not. V8 grows it in steps while the process allocates and gives it back when its
   * memory reducer collects (every few minutes in a quiet gateway worker), so an RSS that follows
   * it is the heap's sizing, not a leak; one that grows beyond it is native memory.
   */
  heapCommittedBytes: Record<string, number>;
  /**
   * Resident memory outside the JS heap: `process_resident_memory_bytes` less
   * `nodejs_heap_size_total_bytes`, both from one scrape of the process's page, per process (a
   * gateway instance's page gives one per worker, `<instance>-w<i>`). Native memory, Buffers,
   * code: where a leak the heap's figures cannot see shows, without V8's heap sizing in it.
   */
  outsideHeapBytes: Record<string, number>;
  /** `process.memoryUsage()`'s external (C++ objects bound to JS, Buffers included) and arrayBuffers (Buffers and ArrayBuffers). */
  externalBytes: Record<string, number>;
  arrayBuffersBytes: Record<string, number>;
  activeHandles: Record<string, number>;
  openFds: Record<string, number>;
  eventLoopP99Sec: Record<string, number>;
  /** The runtime's own view (im_consumer_lag, every group of the process); the writer's from the broker is `persistenceLag`. */
  consumerLag: Record<string, number>;
}

/** Each process's figure over the samples that have it, by `pick` (min, median...). */
export function combine(samples: readonly Record<string, number>[], pick: (...values: number[]) => number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of new Set(samples.flatMap((x) => Object.keys(x)))) out[name] = pick(...samples.flatMap((x) => (x[name] === undefined ? [] : [x[name]!])));
  return out;
}

export function median(...values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** What a soak reads from one SUT process's /metrics page, by ProcessSample field. */
type SutFigure = Exclude<keyof ProcessSample, 'rssBytes' | 'outsideHeapBytes'>;
const SUT_METRICS: Readonly<Record<SutFigure, string>> = {
  heapUsedBytes: 'nodejs_heap_size_used_bytes',
  heapCommittedBytes: 'nodejs_heap_size_total_bytes',
  externalBytes: 'nodejs_external_memory_bytes',
  arrayBuffersBytes: 'im_nodejs_array_buffers_bytes',
  activeHandles: 'nodejs_active_handles_total',
  openFds: 'process_open_fds',
  eventLoopP99Sec: 'nodejs_eventloop_lag_p99_seconds',
  consumerLag: 'im_consumer_lag',
};

/**
 * One SUT process's figures from its /metrics page: each summed over its series (a gateway
 * instance's page has one per worker), absent when the page does not export it.
 */
export function sutFigures(page: string): Partial<Record<SutFigure, number>> {
  const out: Partial<Record<SutFigure, number>> = {};
  for (const [figure, metric] of Object.entries(SUT_METRICS) as [SutFigure, string][]) {
    const v = sampleSum(page, metric);
    if (v !== null) out[figure] = v;
  }
  return out;
}

/**
 * Resident memory outside the JS heap of the process(es) behind one page named `name`: by the
 * `worker` label where the page has one (`sut-gateway-workers` gives `sut-gateway-w0`...),
 * else the page's own process. Each from one scrape, so no heap resize falls between the two.
 */
export function outsideHeap(page: string, name: string): Record<string, number> {
  const workers = [...new Set([...page.matchAll(/^process_resident_memory_bytes\{[^}]*worker="(\d+)"/gm)].map((m) => m[1]!))];
  const instance = name.replace(/-workers$/, '');
  const out: Record<string, number> = {};
  for (const [proc, labels] of workers.length ? workers.map((i) => [`${instance}-w${i}`, { worker: i }] as const) : [[name, {}] as const]) {
    const rss = sampleSum(page, 'process_resident_memory_bytes', labels);
    const heap = sampleSum(page, 'nodejs_heap_size_total_bytes', labels);
    if (rss !== null && heap !== null) out[proc] = rss - heap;
  }
  return out;
}

async function sampleProcesses(ctx: BenchContext): Promise<ProcessSample> {
  const x: ProcessSample = { rssBytes: {}, heapUsedBytes: {}, heapCommittedBytes: {}, outsideHeapBytes: {}, externalBytes: {}, arrayBuffersBytes: {}, activeHandles: {}, openFds: {}, eventLoopP99Sec: {}, consumerLag: {} };
  for (const [name, pid] of ctx.sut.pids()) {
    const rss = sampleProc(pid)?.rssBytes;
    if (rss) x.rssBytes[name] = rss;
  }
  const pages = await Promise.all(ctx.sut.metricsUrls.map(metricsPage));
  pages.forEach((page, k) => {
    const name = metricsPageName(k, Object.keys(x.rssBytes));
    if (!page) return;
    for (const [figure, v] of Object.entries(sutFigures(page)) as [SutFigure, number][]) x[figure][name] = v;
    Object.assign(x.outsideHeapBytes, outsideHeap(page, name));
  });
  return x;
}

/** The SUT process names of `metricsUrls`, in the order bench/run.ts lists them (the second gateway when it runs). */
const SUT_METRICS_NAMES = ['sut-gateway', 'sut-pipeline', 'sut-persistence', 'sut-gateway-2'];
/** Figures summed over a gateway instance's workers: their primary (`sut-gateway`) is not among them. */
const GATEWAY_WORKERS = 'sut-gateway-workers';
/** Figures for the windows table, gateway first: its primary's RSS, then its workers'. */
const WINDOW_COLUMNS = ['sut-gateway', GATEWAY_WORKERS, 'sut-pipeline', 'sut-persistence'];

/**
 * A gateway instance's page sums its workers (the primary aggregates theirs, not its own): named
 * apart from the primary, whose RSS alone is `sut-gateway`. Run 2 of a bench failed its soak on
 * "RSS sut-gateway", the primary's, read beside the workers' heap under the same name.
 */
export function metricsPageName(k: number, processes: readonly string[]): string {
  const name = SUT_METRICS_NAMES[k] ?? `sut-${k}`;
  const worker = new RegExp(`^${name}-w\\d+$`);
  return name.startsWith('sut-gateway') && processes.some((p) => worker.test(p)) ? `${name}-workers` : name;
}

/** Each gateway instance's workers' RSS summed (`<instance>-workers`), as their page sums the rest. */
export function withWorkersSummed(rss: Record<string, number>): Record<string, number> {
  const out = { ...rss };
  for (const [name, bytes] of Object.entries(rss)) {
    const instance = /^(sut-gateway(?:-\d+)?)-w\d+$/.exec(name)?.[1];
    if (instance) out[`${instance}-workers`] = (out[`${instance}-workers`] ?? 0) + bytes;
  }
  return out;
}

async function metricsPage(url: string): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}

function redisUsedMemory(info: string): number | null {
  const m = /^used_memory:(\d+)/m.exec(info);
  return m ? Number(m[1]) : null;
}

/**
 * Half the highest 1:1 rate the direct scenario of this run sustained. When it sustained none of
 * the rates it measured, each of them is an upper bound: half the lowest, not a fixed default
 * that may sit at the machine's limit (50/s soaked at p99 57 → 223 ms after 63/s had failed).
 */
export function soakRate(explicit: number, direct: Record<string, unknown> | undefined): { rate: number; rateSource: string } {
  if (explicit > 0) return { rate: explicit, rateSource: '--soak-rate' };
  const steps = ((direct?.steps as Pick<RateStep, 'rate' | 'passes' | 'validity'>[] | undefined) ?? []).filter((s) => s.validity.valid);
  const passed = steps.filter((s) => s.passes).map((s) => s.rate);
  if (passed.length > 0) {
    const max = Math.max(...passed);
    return { rate: Math.max(1, Math.round(max / 2)), rateSource: `half the direct scenario's highest passing rate (${max}/s) in this run` };
  }
  if (steps.length > 0) {
    const lowest = Math.min(...steps.map((s) => s.rate));
    return { rate: Math.max(1, Math.round(lowest / 2)), rateSource: `half the lowest rate the direct scenario measured in this run (${lowest}/s; it held none)` };
  }
  return { rate: 50, rateSource: 'the default 50/s (no --soak-rate, no direct step measured in this run)' };
}

export async function soakScenario(ctx: BenchContext, target: Target, soakMinutesDefault: number): Promise<ScenarioOutput> {
  const { rate, rateSource } = soakRate(intFlag(ctx.flags, 'soak-rate', 0), ctx.earlier.get('direct')?.figures);
  const minutes = intFlag(ctx.flags, 'soak-minutes', soakMinutesDefault);
  const windowSec = intFlag(ctx.flags, 'soak-window-sec', 60);
  const pairs = intFlag(ctx.flags, 'soak-pairs', 25);
  const windowsWanted = Math.max(1, Math.round((minutes * 60) / windowSec));
  ctx.log(`[soak] ${rate}/s 1:1 over ${pairs} pairs for ${minutes} min (${rateSource}), sampled every ${windowSec} s`);

  const workers = workersFor(pairs * 2);
  const clients = await target.clients(userIds('s-', pairs * 2));
  const pool = new WorkerPool(workers);
  const lag = new LagReader(brokers(), ctx.sut.topicPrefix);
  const redis = new Redis(ctx.sut.env.IM_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  const windows: SoakWindow[] = [];
  try {
    const perWorker: typeof clients[] = Array.from({ length: workers }, () => []);
    for (let p = 0; p < pairs; p++) perWorker[p % workers]!.push(clients[2 * p]!, clients[2 * p + 1]!);
    const c = await connectAll(pool, perWorker, { protocol: target.protocol, url: target.url, sourceAddresses: ctx.sourceAddresses, heartbeatMs: 20_000 });
    ctx.log(`[soak] ${c.opened}/${c.requested} connected`);
    const pairsOf = (w: number): [number, number][] => Array.from({ length: perWorker[w]!.length / 2 }, (_, i) => [2 * i, 2 * i + 1]);
    const shares = splitRate(rate, workers);
    const t0 = nowMs();
    ctx.progress.start('soak', pool);
    for (let i = 0; i < windowsWanted; i++) {
      // Sampled every few seconds through the window: RSS and the heap's sizes at their lowest
      // (without the garbage's sawtooth), the used heap after a full collection at its end,
      // handles and lag at the end, event-loop delay p99 as the median of the samples.
      const samples: ProcessSample[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          samples.push(await sampleProcesses(ctx));
          await sleep(SAMPLE_EVERY_MS);
        }
      })();
      await pool.all((w) => (shares[w.index]! > 0 ? { op: 'direct' as const, pairs: pairsOf(w.index), rate: shares[w.index]!, durationMs: windowSec * 1000, startAt: nowMs() + 50, drainMs: 5_000 } : null));
      sampling = false;
      await sampler;
      // The heap's live size, where a leak shows: a full collection in every SUT process first,
      // else the used heap keeps whatever garbage the next collection would free (a gateway
      // worker goes minutes between full collections and reads as growing in between).
      let collected: ProcessSample | null = null;
      if (ctx.sut.collectGarbage) {
        ctx.sut.collectGarbage();
        await sleep(AFTER_COLLECTION_MS);
        collected = await sampleProcesses(ctx);
      }
      const s = await collectAll(pool);
      const closes: Record<string, number> = {};
      for (const st of await pool.all({ op: 'status' as const })) for (const [k, v] of Object.entries(st.closes)) closes[k] = (closes[k] ?? 0) + v;
      const last = samples[samples.length - 1];
      const w: SoakWindow = {
        tSec: Math.round((nowMs() - t0) / 1000),
        sent: s.sent,
        delivered: s.delivered,
        validity: stepValidity({ connections: { requested: c.requested, open: s.open, closes }, sent: s.sent, acked: s.acked, sendErrors: s.sendErrors, unanswered: s.unanswered, delivered: s.delivered, expectedDeliveries: s.acked }),
        deliveryP50Ms: s.sendToDelivery.p50,
        deliveryP99Ms: s.sendToDelivery.p99,
        // With the sample after the full collection: the floor of a process whose heap saw-tooths
        // over more than a window (the gateway's primary: 145-172 MiB from one window to the next).
        rssBytes: combine([...samples, ...(collected ? [collected] : [])].map((x) => x.rssBytes), Math.min),
        heapUsedBytes: collected?.heapUsedBytes ?? combine(samples.map((x) => x.heapUsedBytes), Math.min),
        heapCommittedBytes: combine(samples.map((x) => x.heapCommittedBytes), Math.min),
        outsideHeapBytes: combine(samples.map((x) => x.outsideHeapBytes), Math.min),
        externalBytes: combine(samples.map((x) => x.externalBytes), Math.min),
        arrayBuffersBytes: combine(samples.map((x) => x.arrayBuffersBytes), Math.min),
        activeHandles: last?.activeHandles ?? {},
        openFds: last?.openFds ?? {},
        eventLoopP99Sec: combine(samples.map((x) => x.eventLoopP99Sec), median),
        consumerLag: last?.consumerLag ?? {},
        persistenceLag: await lag.lag('im.persistence', 'im.msg.stamped').catch(() => null),
        redisUsedBytes: await redis.info('memory').then(redisUsedMemory, () => null),
      };
      windows.push(w);
      const label = invalidLabel(w.validity);
      ctx.log(`[soak] ${w.tSec} s: ${s.delivered}/${s.sent} delivered, p50 ${w.deliveryP50Ms} p99 ${w.deliveryP99Ms} ms, RSS ${Object.entries(w.rssBytes).filter(([n]) => n.startsWith('sut-')).map(([n, b]) => `${n} ${(b / 2 ** 20).toFixed(0)} MiB`).join(', ')}${label ? ` ${label}` : ''}`);
    }
  } finally {
    ctx.progress.stop();
    await lag.close();
    redis.disconnect();
    await pool.close();
  }
  return soakOutput({ rate, rateSource, minutes, windowSec, windows });
}

/** Each sampled figure as a series over the windows, judged against its tolerance. */
export function soakGrowth(windows: readonly SoakWindow[], rate: number): GrowthVerdict[] {
  const out: GrowthVerdict[] = [];
  const series = (pick: (w: SoakWindow) => number | null | undefined): SamplePoint[] =>
    windows.flatMap((w) => {
      const v = pick(w);
      return v === null || v === undefined ? [] : [{ tSec: w.tSec, value: v }];
    });
  const judge = (name: string, unit: string, points: SamplePoint[], tolerance: (first: number) => number, judged = true): void => {
    const v = judgeGrowth(name, unit, points, tolerance, { judged });
    if (v) out.push(v);
  };
  const names = (pick: (w: SoakWindow) => Record<string, number>): string[] => [...new Set(windows.flatMap((w) => Object.keys(pick(w))))].sort();
  // The platform's processes. The stack's JVMs (Kafka, the registry) grow their heap towards
  // -Xmx by design, so their RSS is recorded in the windows but not judged.
  // Each SUT process's memory side by side: RSS, then its parts, so a growing RSS names the part
  // that grows. RSS = the heap's committed size + what lies outside the heap. The committed size
  // is V8's sizing (up to `IM_HEAP_GROWING_PERCENT` over the live heap), shown, not judged: it
  // took a gateway worker's heap 7 minutes to reach its plateau in a 30-minute soak, so a
  // 5-minute soak failed on a worker's RSS that followed it while its used heap held. So RSS is
  // judged by its parts where the process's page gives them: the heap used (a leak of objects)
  // and what lies outside the heap (native memory, Buffers); whole only where it has no page
  // (a gateway instance's primary).
  const memory = [
    ['RSS', (w: SoakWindow) => w.rssBytes],
    ['heap committed', (w: SoakWindow) => w.heapCommittedBytes],
    ['heap used', (w: SoakWindow) => w.heapUsedBytes],
    ['outside the heap', (w: SoakWindow) => w.outsideHeapBytes],
    ['external', (w: SoakWindow) => w.externalBytes],
    ['array buffers', (w: SoakWindow) => w.arrayBuffersBytes],
  ] as const;
  const sut = [...new Set(memory.flatMap(([, pick]) => names(pick)))].filter((x) => x.startsWith('sut-')).sort();
  const split = new Set(names((w) => w.outsideHeapBytes));
  const judged = (what: string, n: string): boolean => (what === 'RSS' ? !split.has(n) : what !== 'heap committed');
  for (const n of sut) for (const [what, pick] of memory) judge(`${what} ${n}`, 'bytes', series((w) => pick(w)[n]), SOAK_TOLERANCE.bytes, judged(what, n));
  for (const n of names((w) => w.activeHandles)) judge(`active handles ${n}`, 'handles', series((w) => w.activeHandles[n]), SOAK_TOLERANCE.handles);
  for (const n of names((w) => w.openFds)) judge(`open fds ${n}`, 'fds', series((w) => w.openFds[n]), SOAK_TOLERANCE.handles);
  for (const n of names((w) => w.eventLoopP99Sec)) judge(`event-loop delay p99 ${n}`, 's', series((w) => w.eventLoopP99Sec[n]), SOAK_TOLERANCE.eventLoopSec);
  for (const n of names((w) => w.consumerLag)) judge(`consumer lag ${n}`, 'records', series((w) => w.consumerLag[n]), SOAK_TOLERANCE.lagRecords(rate));
  judge('persistence lag (broker)', 'records', series((w) => w.persistenceLag), SOAK_TOLERANCE.lagRecords(rate));
  judge('Redis used memory', 'bytes', series((w) => w.redisUsedBytes), SOAK_TOLERANCE.redisBytes);
  judge('delivery p99', 'ms', series((w) => w.deliveryP99Ms), SOAK_TOLERANCE.latencyMs);
  return out;
}

const show = (v: number, unit: string): string =>
  unit === 'bytes' ? `${(v / 2 ** 20).toFixed(1)} MiB` : unit === 's' ? `${(v * 1000).toFixed(1)} ms` : `${Math.round(v * 10) / 10} ${unit}`;

export function soakOutput(o: { rate: number; rateSource: string; minutes: number; windowSec: number; windows: SoakWindow[] }): ScenarioOutput {
  const invalid = o.windows.filter((w) => !w.validity.valid);
  const growth = soakGrowth(o.windows, o.rate);
  const reasons = invalid.map((w) => `window at ${w.tSec} s: ${w.validity.reasons.join('; ')}`);
  if (growth.length === 0) reasons.push(`too few windows (${o.windows.length}) to judge a slope: lengthen --soak-minutes or shorten --soak-window-sec`);
  const missing = o.windows.reduce((s, w) => s + (w.validity.missingDeliveries ?? 0), 0);
  const validity: Validity = { valid: reasons.length === 0, reasons, missingDeliveries: missing };
  // An INVALID soak judges nothing: its slopes are shown, but no figure is called flat or growing.
  const growing = validity.valid ? growth.filter((g) => g.growing).map((g) => g.series) : [];
  const verdict = (g: GrowthVerdict): string => (!validity.valid ? 'INVALID' : !g.judged ? 'shown, not judged' : g.growing ? '**GROWING**' : 'flat');
  const figures: SoakFigures = { ...o, growth, growing, validity, passes: validity.valid && growing.length === 0 && missing === 0 };
  const notes = [`rate ${o.rate}/s: ${o.rateSource}`];
  if (!validity.valid) notes.push(`INVALID, the slopes are no measurement: ${reasons.join('; ')}`);
  else notes.push(growing.length ? `GROWING (a failure): ${growing.join(', ')}` : `every sampled figure flat over ${o.minutes} min`);
  if (missing > 0) notes.push(`${missing} acknowledged messages not delivered within their window`);
  const tables = [
    {
      title: 'soak: slopes (after the warm-up: the first quarter of the windows)',
      lines: [
        '| figure | first | last | slope per hour | growth over the soak | tolerance | verdict |',
        '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
        ...growth.map((g) => `| ${g.series} | ${show(g.first, g.unit)} | ${show(g.last, g.unit)} | ${show(g.slopePerHour, g.unit)} | ${show(g.projectedGrowth, g.unit)} | ${show(g.tolerance, g.unit)} | ${verdict(g)} |`),
        ...(validity.valid ? [] : ['', `- INVALID, no verdict: ${reasons.join('; ')}`]),
      ],
    },
    {
      title: 'soak: windows',
      lines: [
        '| at | delivered/sent | p50 / p99 ms | SUT RSS MiB (gateway primary, gateway workers, pipeline, persistence) | heap committed MiB (gateway workers, pipeline, persistence) | heap used MiB | outside the heap MiB | external MiB | array buffers MiB | event-loop p99 ms | consumer lag | Redis MiB |',
        '| ---: | ---: | ---: | --- | --- | --- | --- | --- | --- | --- | ---: | ---: |',
        ...o.windows.map((w) => {
          const mib = (v: number): string => (v / 2 ** 20).toFixed(0);
          // A gateway column only where the gateway has that figure: the primary's RSS, the workers' sums.
          const per = (r: Record<string, number>, f: (v: number) => string): string =>
            WINDOW_COLUMNS.filter((n) => r[n] !== undefined || !n.startsWith('sut-gateway'))
              .map((n) => (r[n] === undefined ? '–' : f(r[n]!)))
              .join(' / ');
          const lagTotal = Object.values(w.consumerLag).reduce((a, b) => a + b, 0);
          return `| ${w.tSec} s | ${invalidLabel(w.validity) ?? `${w.delivered}/${w.sent}`} | ${w.deliveryP50Ms} / ${w.deliveryP99Ms} | ${per(withWorkersSummed(w.rssBytes), mib)} | ${per(w.heapCommittedBytes, mib)} | ${per(w.heapUsedBytes, mib)} | ${per(withWorkersSummed(w.outsideHeapBytes), mib)} | ${per(w.externalBytes, mib)} | ${per(w.arrayBuffersBytes, mib)} | ${per(w.eventLoopP99Sec, (v) => (v * 1000).toFixed(1))} | ${lagTotal} | ${w.redisUsedBytes === null ? '–' : (w.redisUsedBytes / 2 ** 20).toFixed(1)} |`;
        }),
      ],
    },
  ];
  return { scenario: 'soak', configuration: { rate: o.rate, rateSource: o.rateSource, minutes: o.minutes, windowSec: o.windowSec }, figures: figures as unknown as Record<string, unknown>, latencyCurves: [], notes, tables };
}

/** The one-line summary of a soak for the run's summary. */
export function soakSummary(f: SoakFigures): string {
  const label = invalidLabel(f.validity);
  if (label) return `${label}`;
  return `${f.rate}/s for ${f.minutes} min, ${f.windows.length} windows: ${f.growing.length ? `GROWING ${f.growing.join(', ')}` : 'every figure flat'}${f.validity.missingDeliveries ? `, ${f.validity.missingDeliveries} not delivered` : ''}; ${f.passes ? 'pass' : 'FAIL'}`;
}
