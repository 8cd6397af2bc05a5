import { describe, expect, it } from 'vitest';
import { cpuChart, hdrChart, overTimeChart, peerChart, stepCard } from './step-charts.js';
import { cpuRows, peerRows } from './step-tables.js';
import { invalidStep, peerFigures, validStep } from './test-fixtures.js';

/** The coordinates of each `<path d>` in order: [[x, y, isMove], ...] per path. */
function paths(svg: string): [number, number, boolean][][] {
  return [...svg.matchAll(/<path d="([^"]*)"/g)].map((m) => [...m[1]!.matchAll(/([ML])([\d.]+),([\d.]+)/g)].map((p) => [Number(p[2]), Number(p[3]), p[1] === 'M']));
}

/** Every opened element is closed in order (the page's SVG is parsed as XML by the browser). */
function wellFormed(svg: string): boolean {
  const open: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    if (m[3]) continue;
    if (!m[1]) open.push(m[2]!);
    else if (open.pop() !== m[2]) return false;
  }
  return open.length === 0;
}

const texts = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

describe('the per-step charts', () => {
  it('plots latency by percentile on the 1/(1-p) axis: 90, 99, 99.9 evenly spaced, ticks only as far as the curve', () => {
    const svg = hdrChart(validStep('500/s'));
    expect(wellFormed(svg)).toBe(true);
    expect(texts(svg)).toEqual(expect.arrayContaining(['500/s: latency by percentile', '0', '90', '99', '99.9', 'percentile (1/(1-p) axis)', 'send→ack (n=1000, max 12 ms)', 'send→delivery (n=1000, max 24 ms)']));
    expect(texts(svg)).not.toContain('99.99');
    const [ack, delivery] = paths(svg);
    expect(svg).toMatch(/stroke-dasharray="5 3"/);
    expect(delivery).toHaveLength(4);
    const xs = delivery!.map(([x]) => x);
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[2]! - xs[1]!, 0);
    expect(xs[2]! - xs[1]!).toBeCloseTo(xs[3]! - xs[2]!, 0);
    // Higher latency is higher on the page (smaller y); delivery lies above ack at every percentile.
    delivery!.forEach(([, y], i) => {
      if (i > 0) expect(y).toBeLessThan(delivery![i - 1]![1]);
      expect(y).toBeLessThan(ack![i]![1]);
    });
  });

  it('plots p50 and p99 per second with a gap where a second had no samples', () => {
    const svg = overTimeChart(validStep('500/s'));
    expect(wellFormed(svg)).toBe(true);
    expect(texts(svg)).toEqual(expect.arrayContaining(['send→ack p50', 'send→ack p99', 'send→delivery p50', 'send→delivery p99', 'seconds into the step (by arrival)', 'ms (log)']));
    const ps = paths(svg);
    expect(ps).toHaveLength(4);
    // Seconds 0 and 2 only: two separate points per line, no segment across the empty second.
    for (const p of ps) expect(p.map(([, , move]) => move)).toEqual([true, true]);
    expect(svg.match(/<circle /g)).toHaveLength(8);
  });

  it('stacks CPU per process per step, the same colour for a process in every bar, and draws an INVALID step as such with no figures', () => {
    const rows = cpuRows([validStep('500/s'), invalidStep('1000/s'), validStep('2000/s')]);
    const svg = cpuChart('direct', rows);
    expect(wellFormed(svg)).toBe(true);
    expect(svg.match(/class="invalid-step"/g)).toHaveLength(1);
    expect(texts(svg)).toEqual(expect.arrayContaining(['direct: CPU per process', '500/s', '1000/s', 'INVALID: not measured', 'broker (Kafka)', 'load generator', 'other (outside bench and SUT)']));
    // 8 processes with CPU in each valid bar; the totals (machine:busy aside) on top.
    const segments = [...svg.matchAll(/<rect x="[^"]*" y="[^"]*" width="[^"]*" height="[^"]*" fill="(#[0-9a-f]+)"><title>([^<]*)<\/title>/g)];
    expect(segments).toHaveLength(16);
    const colourOf = (title: string): string | undefined => segments.find((s) => s[2] === title)?.[1];
    expect(colourOf('500/s: broker (Kafka) 0.4')).toBe(colourOf('2000/s: broker (Kafka) 0.4'));
    expect(segments.some((s) => s[2]!.startsWith('1000/s'))).toBe(false);
    expect(texts(svg).filter((t) => t === '1.9')).toHaveLength(2);
  });

  it('shows an INVALID step\'s reasons in place of its charts', () => {
    const card = stepCard(invalidStep('1000/s'));
    expect(card).not.toContain('<svg');
    expect(card).toContain('1000/s: INVALID');
    expect(card).toContain('only 990 of 1000 sockets open');
    expect(stepCard(validStep('500/s')).match(/<svg /g)).toHaveLength(2);
  });

  it('draws IM ÷ Centrifugo from ×1 on a log axis, green where the platform is ahead, the reason where there is no ratio', () => {
    const svg = peerChart(peerRows(peerFigures()));
    expect(wellFormed(svg)).toBe(true);
    expect(texts(svg)).toEqual(expect.arrayContaining(['×0.1', '×1', '×10', '×0.5', '×2', 'connect rate (higher is better)']));
    expect(texts(svg).filter((t) => t === 'INVALID (IM: 3 sends on sockets that were not open)')).toHaveLength(3);
    const bars = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" fill="(#[0-9a-f]+)"\/>/g)].map((m) => ({ x: Number(m[1]), w: Number(m[2]), fill: m[3] }));
    // RSS ×0.17, connect rate ×0.5, handshake ×2, the 100-member p50 ×0.5, max ×0.71, deliveries/s ×2.
    expect(bars.map((b) => b.fill)).toEqual(['#2ca02c', '#d62728', '#d62728', '#2ca02c', '#2ca02c', '#2ca02c']);
    // ×0.5 and ×2 are as long as each other, on either side of ×1.
    expect(bars[1]!.w).toBeCloseTo(bars[2]!.w, 0);
    expect(bars[1]!.x + bars[1]!.w).toBeCloseTo(bars[2]!.x, 0);
  });
});
