import { describe, expect, it } from 'vitest';
import { combine, median, metricsPageName, outsideHeap, soakOutput, soakRate, soakSummary, sutFigures, withWorkersSummed, type SoakFigures, type SoakWindow } from './scenarios/soak.js';
import { stepValidity } from './validity.js';
import { enableDefaultMetrics, registry } from '../core/metrics.js';

const MiB = 2 ** 20;

function window(i: number, o: { gatewayRss: number; lag?: number; valid?: boolean; gatewayArrayBuffers?: number; gatewayHeapCommitted?: number; gatewayHeapUsed?: number }): SoakWindow {
  const arrayBuffers = o.gatewayArrayBuffers ?? 4 * MiB;
  const committed = o.gatewayHeapCommitted ?? 80 * MiB;
  const sent = 3000;
  return {
    tSec: 60 * (i + 1),
    sent,
    delivered: sent,
    validity: stepValidity({ connections: { requested: 200, open: o.valid === false ? 150 : 200 }, sent, acked: sent, sendErrors: {}, unanswered: 0, delivered: sent, expectedDeliveries: sent }),
    deliveryP50Ms: 20,
    deliveryP99Ms: 60,
    rssBytes: { 'sut-gateway': o.gatewayRss, 'sut-pipeline': 300 * MiB, kafka: 900 * MiB },
    heapUsedBytes: { 'sut-gateway': o.gatewayHeapUsed ?? 60 * MiB },
    heapCommittedBytes: { 'sut-gateway': committed },
    // The pipeline has no page in these windows: its RSS is judged whole.
    outsideHeapBytes: { 'sut-gateway': o.gatewayRss - committed },
    externalBytes: { 'sut-gateway': 6 * MiB + arrayBuffers },
    arrayBuffersBytes: { 'sut-gateway': arrayBuffers },
    activeHandles: { 'sut-gateway': 220 },
    openFds: { 'sut-gateway': 240 },
    eventLoopP99Sec: { 'sut-gateway': 0.011 },
    consumerLag: { 'sut-pipeline': o.lag ?? 3 },
    persistenceLag: 12,
    redisUsedBytes: 4 * MiB,
  };
}

const run = (windows: SoakWindow[]): SoakFigures => soakOutput({ rate: 50, rateSource: 'test', minutes: windows.length, windowSec: 60, windows }).figures as unknown as SoakFigures;

describe('soak verdict', () => {
  it('passes when every sampled figure stays flat', () => {
    const f = run(Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB })));
    expect(f.validity.valid).toBe(true);
    expect(f.growing).toEqual([]);
    expect(f.passes).toBe(true);
    expect(f.growth.map((g) => g.series)).toContain('RSS sut-gateway');
    expect(f.growth.map((g) => g.series)).toContain('Redis used memory');
    // The stack's JVMs grow towards -Xmx by design: recorded, not judged.
    expect(f.growth.map((g) => g.series)).not.toContain('RSS kafka');
    expect(soakSummary(f)).toMatch(/every figure flat; pass/);
  });

  it('fails on a process whose memory keeps climbing, and names it', () => {
    const f = run(Array.from({ length: 30 }, (_, i) => window(i, { gatewayRss: 180 * MiB + i * 2 * MiB })));
    expect(f.growing).toEqual(['outside the heap sut-gateway']);
    expect(f.passes).toBe(false);
    expect(soakSummary(f)).toMatch(/GROWING outside the heap sut-gateway.*FAIL/);
    // A process without a page of its own (the pipeline here) is judged by its RSS.
    const pipeline = run(Array.from({ length: 30 }, (_, i) => ({ ...window(i, { gatewayRss: 180 * MiB }), rssBytes: { 'sut-gateway': 180 * MiB, 'sut-pipeline': 300 * MiB + i * 2 * MiB } })));
    expect(pipeline.growing).toEqual(['RSS sut-pipeline']);
  });

  it('shows each SUT process\'s RSS beside its parts (heap committed, heap used, outside the heap, external, array buffers), and names the part that grows', () => {
    // RSS +30 MiB in 10 minutes with a flat heap: the array buffers (and so external memory) grow with it.
    const f = run(Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB + i * 3 * MiB, gatewayArrayBuffers: 4 * MiB + i * 3 * MiB })));
    expect(f.growth.map((g) => g.series).slice(0, 6)).toEqual(['RSS sut-gateway', 'heap committed sut-gateway', 'heap used sut-gateway', 'outside the heap sut-gateway', 'external sut-gateway', 'array buffers sut-gateway']);
    expect(f.growing).toEqual(['outside the heap sut-gateway', 'external sut-gateway', 'array buffers sut-gateway']);
    const slopes = soakOutput({ rate: 50, rateSource: 'test', minutes: 12, windowSec: 60, windows: Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB })) }).tables!;
    expect(slopes[1]!.lines[0]).toContain('| heap committed MiB (gateway workers, pipeline, persistence) | heap used MiB | outside the heap MiB | external MiB | array buffers MiB |');
    expect(slopes[1]!.lines[0]!.split('|').length).toBe(slopes[1]!.lines[1]!.split('|').length);
    expect(slopes[1]!.lines[2]).toContain('| 180 / 300 / – | 80 / – / – | 60 / – / – | 100 / – / – | 10 / – / – | 4 / – / – |');
  });

  it('keeps a gateway instance\'s primary apart from its workers: the primary\'s RSS is its own, the page\'s figures are the workers\'', () => {
    // The page of an instance with workers sums theirs; the primary has only its RSS.
    expect(metricsPageName(0, ['sut-gateway', 'sut-gateway-w0', 'sut-gateway-w1', 'sut-pipeline'])).toBe('sut-gateway-workers');
    expect(metricsPageName(0, ['sut-gateway', 'sut-pipeline'])).toBe('sut-gateway');
    expect(metricsPageName(1, ['sut-gateway', 'sut-gateway-w0'])).toBe('sut-pipeline');
    expect(metricsPageName(3, ['sut-gateway', 'sut-gateway-w0', 'sut-gateway-2', 'sut-gateway-2-w0'])).toBe('sut-gateway-2-workers');
    expect(metricsPageName(3, ['sut-gateway', 'sut-gateway-w0', 'sut-gateway-2'])).toBe('sut-gateway-2');
    expect(withWorkersSummed({ 'sut-gateway': 150, 'sut-gateway-w0': 200, 'sut-gateway-w1': 210, 'sut-gateway-2-w0': 1 })).toEqual({ 'sut-gateway': 150, 'sut-gateway-w0': 200, 'sut-gateway-w1': 210, 'sut-gateway-2-w0': 1, 'sut-gateway-workers': 410, 'sut-gateway-2-workers': 1 });
    const instance = (i: number): SoakWindow => {
      const w = window(i, { gatewayRss: 150 * MiB + (i % 3) * 12 * MiB });
      const moved = <T,>(r: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(r).map(([n, v]) => [n === 'sut-gateway' ? 'sut-gateway-workers' : n, v]));
      return {
        ...w,
        rssBytes: { ...w.rssBytes, 'sut-gateway-w0': 200 * MiB, 'sut-gateway-w1': 210 * MiB },
        heapUsedBytes: moved(w.heapUsedBytes),
        heapCommittedBytes: moved(w.heapCommittedBytes),
        outsideHeapBytes: { 'sut-gateway-w0': 120 * MiB, 'sut-gateway-w1': 130 * MiB },
        externalBytes: moved(w.externalBytes),
        arrayBuffersBytes: moved(w.arrayBuffersBytes),
      };
    };
    const out = soakOutput({ rate: 50, rateSource: 'test', minutes: 12, windowSec: 60, windows: Array.from({ length: 12 }, (_, i) => instance(i)) });
    const f = out.figures as unknown as SoakFigures;
    expect(f.growth.map((g) => g.series)).toEqual(expect.arrayContaining(['RSS sut-gateway', 'RSS sut-gateway-w0', 'RSS sut-gateway-w1', 'heap used sut-gateway-workers', 'outside the heap sut-gateway-w0', 'outside the heap sut-gateway-w1']));
    expect(f.growth.map((g) => g.series)).not.toContain('heap used sut-gateway');
    // The primary has no page of its own: its RSS is judged whole; each worker's by its parts.
    const judged = Object.fromEntries(f.growth.map((g) => [g.series, g.judged]));
    expect(judged).toMatchObject({ 'RSS sut-gateway': true, 'RSS sut-gateway-w0': false, 'outside the heap sut-gateway-w0': true });
    // RSS: the primary, the workers summed, the pipeline, no persistence; the rest: workers, pipeline, persistence.
    expect(out.tables![1]!.lines[2]).toContain('| 150 / 410 / 300 / – | 80 / – / – | 60 / – / – | 250 / – / – |');
  });

  it('judges RSS by its parts: an RSS that follows V8\'s sizing of the heap passes, one that grows outside the heap or with the live heap fails', () => {
    // The 5-minute soak of a full bench at b55686f: a gateway worker's RSS and committed heap +3 MiB a window, its used heap flat.
    const sized = run(Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB + i * 3 * MiB, gatewayHeapCommitted: 80 * MiB + i * 3 * MiB })));
    expect(sized.growing).toEqual([]);
    expect(sized.passes).toBe(true);
    for (const series of ['RSS sut-gateway', 'heap committed sut-gateway']) {
      const g = sized.growth.find((x) => x.series === series)!;
      expect(g.projectedGrowth).toBeGreaterThan(g.tolerance);
      expect(g.judged).toBe(false);
    }
    const table = soakOutput({ rate: 50, rateSource: 'test', minutes: 12, windowSec: 60, windows: Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB + i * 3 * MiB, gatewayHeapCommitted: 80 * MiB + i * 3 * MiB })) }).tables![0]!.lines;
    expect(table.find((l) => l.startsWith('| RSS sut-gateway'))).toMatch(/shown, not judged \|$/);
    expect(table.find((l) => l.startsWith('| outside the heap sut-gateway'))).toMatch(/\| flat \|$/);
    // The same RSS with the live objects growing under it: a leak in the heap.
    const objects = run(Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB + i * 3 * MiB, gatewayHeapCommitted: 80 * MiB + i * 3 * MiB, gatewayHeapUsed: 60 * MiB + i * 3 * MiB })));
    expect(objects.growing).toEqual(['heap used sut-gateway']);
    // RSS growing under a committed size that holds: native memory.
    const native = run(Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB + i * 3 * MiB })));
    expect(native.growing).toEqual(['outside the heap sut-gateway']);
  });

  it('fails on a consumer lag that builds up', () => {
    const f = run(Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB, lag: i * 100 })));
    expect(f.growing).toEqual(['consumer lag sut-pipeline']);
  });

  it('is INVALID, not a pass, when a window lost sockets or too few windows were sampled', () => {
    const lost = run(Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB, valid: i !== 5 })));
    expect(lost.validity.valid).toBe(false);
    expect(lost.passes).toBe(false);
    expect(lost.validity.reasons[0]).toMatch(/window at 360 s: only 150 of 200 sockets open/);
    // No slope is called flat or growing over an INVALID window: the table says INVALID and why.
    expect(lost.growing).toEqual([]);
    const slopes = soakOutput({ rate: 50, rateSource: 'test', minutes: 12, windowSec: 60, windows: Array.from({ length: 12 }, (_, i) => window(i, { gatewayRss: 180 * MiB + i * 8 * MiB, valid: i !== 5 })) }).tables![0]!.lines;
    expect(slopes.find((l) => l.startsWith('| RSS sut-gateway'))).toMatch(/\| INVALID \|$/);
    expect(slopes.filter((l) => l.includes('flat') || l.includes('GROWING'))).toEqual([]);
    expect(slopes[slopes.length - 1]).toBe('- INVALID, no verdict: window at 360 s: only 150 of 200 sockets open');
    const short = run(Array.from({ length: 3 }, (_, i) => window(i, { gatewayRss: 180 * MiB })));
    expect(short.validity.valid).toBe(false);
    expect(short.validity.reasons.join()).toMatch(/too few windows/);
  });
});

describe('the soak\'s rate', () => {
  const step = (rate: number, passes: boolean, valid = true) => ({ rate, passes, validity: { valid, reasons: [] } });

  it('is half the highest rate the direct scenario held, else half the lowest it measured, else 50/s', () => {
    expect(soakRate(0, { steps: [step(250, false), step(125, false), step(63, true)] })).toMatchObject({ rate: 32 });
    // Held none: every measured rate is an upper bound.
    const none = soakRate(0, { steps: [step(250, false), step(125, false), step(63, false)] });
    expect(none.rate).toBe(32);
    expect(none.rateSource).toMatch(/lowest rate .*63\/s; it held none/);
    // An INVALID step measured nothing: neither a pass nor a bound.
    expect(soakRate(0, { steps: [step(40, true, false), step(100, false)] }).rate).toBe(50);
    expect(soakRate(0, undefined)).toMatchObject({ rate: 50 });
    expect(soakRate(38, { steps: [step(63, true)] })).toEqual({ rate: 38, rateSource: '--soak-rate' });
  });
});

describe('a SUT process\'s /metrics page', () => {
  it('gives its heap, external memory, array buffers, handles, fds, event-loop p99 and lag, summed over a gateway instance\'s workers', () => {
    const page = [
      '# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
      '# TYPE nodejs_heap_size_used_bytes gauge',
      'nodejs_heap_size_used_bytes{worker="0"} 50000000',
      'nodejs_heap_size_used_bytes{worker="1"} 52000000',
      'nodejs_heap_size_total_bytes{worker="0"} 90000000',
      'nodejs_external_memory_bytes{worker="0"} 3000000',
      'nodejs_external_memory_bytes{worker="1"} 3500000',
      '# HELP im_nodejs_array_buffers_bytes process.memoryUsage().arrayBuffers',
      'im_nodejs_array_buffers_bytes{worker="0"} 1000000',
      'im_nodejs_array_buffers_bytes{worker="1"} 1500000',
      'nodejs_active_handles_total{worker="0",type="Socket"} 9',
      'process_open_fds 40',
      'nodejs_eventloop_lag_p99_seconds 0.012',
    ].join('\n');
    expect(sutFigures(page)).toEqual({ heapUsedBytes: 102_000_000, heapCommittedBytes: 90_000_000, externalBytes: 6_500_000, arrayBuffersBytes: 2_500_000, activeHandles: 9, openFds: 40, eventLoopP99Sec: 0.012 });
    // A process without the platform's gauge (an older build): the figure is absent, not 0.
    expect(sutFigures('nodejs_external_memory_bytes 7\n')).toEqual({ externalBytes: 7 });
  });
});

describe('memory outside the JS heap', () => {
  it('is each process\'s resident memory less its heap\'s committed size, from one page: per worker where the page has them', () => {
    const page = [
      'process_resident_memory_bytes{worker="0"} 200000000',
      'process_resident_memory_bytes{worker="1"} 210000000',
      'nodejs_heap_size_total_bytes{worker="0"} 90000000',
      'nodejs_heap_size_total_bytes{worker="1"} 95000000',
    ].join('\n');
    expect(outsideHeap(page, 'sut-gateway-workers')).toEqual({ 'sut-gateway-w0': 110_000_000, 'sut-gateway-w1': 115_000_000 });
    expect(outsideHeap('process_resident_memory_bytes 300\nnodejs_heap_size_total_bytes 120\n', 'sut-pipeline')).toEqual({ 'sut-pipeline': 180 });
    // Half a pair is no figure.
    expect(outsideHeap('process_resident_memory_bytes 300\n', 'sut-pipeline')).toEqual({});
  });
});

describe('a SUT process\'s own registry', () => {
  it('exports every memory figure the soak reads (core/metrics.ts adds array buffers to prom-client\'s defaults)', async () => {
    enableDefaultMetrics();
    const f = sutFigures(await registry.metrics());
    expect(f.heapUsedBytes).toBeGreaterThan(0);
    expect(f.heapCommittedBytes).toBeGreaterThanOrEqual(f.heapUsedBytes!);
    expect(f.externalBytes).toBeGreaterThan(0);
    expect(f.arrayBuffersBytes).toBeGreaterThanOrEqual(0);
  });
});

describe('samples within a window', () => {
  it('keep each process\'s lowest memory and median delay, over the samples that have it', () => {
    const samples: Record<string, number>[] = [{ a: 120, b: 7 }, { a: 80 }, { a: 100, b: 5 }];
    expect(combine(samples, Math.min)).toEqual({ a: 80, b: 5 });
    expect(combine(samples, median)).toEqual({ a: 100, b: 6 });
    expect(combine([], Math.min)).toEqual({});
  });
});
