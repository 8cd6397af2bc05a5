import { describe, expect, it } from 'vitest';
import { flattenFigures, invalidPhases, markdownTable, renderReport } from './report/html.js';
import { lineChart, nines } from './report/svg.js';
import type { BenchResult } from './results.js';
import { peerTable, TABLE_TITLES } from './report/step-tables.js';
import { peerRatiosLine } from './summary.js';
import { invalidStep, peerFigures, validStep } from './report/test-fixtures.js';

const result: BenchResult = {
  format: 1,
  scenario: 'direct',
  startedAt: '2026-01-01T00:00:00.000Z',
  durationSec: 12,
  command: 'npx tsx bench/run.ts --scenario direct',
  machine: { cpus: 2, cpuModel: 'cpu <x>', memoryBytes: 2 ** 34, kernel: '6.1' },
  versions: { node: 'v20' },
  git: { commit: 'abcdef0123456789', dirty: false },
  configuration: { rates: [100] },
  figures: { steps: [{ rate: 100, sendToDelivery: { p50: 3, p99: 9 } }] },
  series: {
    throughput: [{ t: 1, phase: 'p', sent: 100, acked: 99, delivered: 98, errors: 0, open: 2 }, { t: 2, phase: 'p', sent: 100, acked: 100, delivered: 100, errors: 0, open: 2 }],
    memory: [{ target: 'im', connections: 0, rssBytes: 1e8 }, { target: 'im', connections: 1000, rssBytes: 1.1e8 }],
    latency: [{ label: 'im 100/s', curve: [[0, 1], [50, 3], [99, 9], [99.9, 12], [100, 15]] }],
  },
  notes: ['a <note>'],
};

describe('report', () => {
  it('renders one self-contained page with the three charts, escaped text and the figures', () => {
    const html = renderReport([result], 'summary & more');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(html.match(/<svg /g)?.length).toBe(3);
    expect(html).toContain('latency by percentile');
    expect(html).toContain('throughput over time');
    expect(html).toContain('memory against connections');
    expect(html).toContain('a &lt;note&gt;');
    expect(html).toContain('summary &amp; more');
    expect(html).toContain('steps[100].sendToDelivery.p99');
  });

  it('renders a report table: head, rows, the winner in bold, escaped text, notes as paragraphs', () => {
    const html = markdownTable(['| client | p50 |', '| --- | ---: |', '| a<b | **1.5** |', '| c | 2 |', '', '- a note']);
    expect(html).toBe('<table><tr><th>client</th><th>p50</th></tr><tr><td>a&lt;b</td><td><b>1.5</b></td></tr><tr><td>c</td><td>2</td></tr></table>\n<p>a note</p>');
    const page = renderReport([{ ...result, tables: [{ title: 'where & when', lines: ['| x |', '| - |', '| 1 |'] }] }], '');
    expect(page).toContain('<h3>where &amp; when</h3>');
  });

  it('flattens figures with array items named by rate or members', () => {
    expect(flattenFigures({ a: [{ members: 100, x: 1 }], b: { c: 2 }, s: 'text' })).toEqual([
      ['a[100].members', 100],
      ['a[100].x', 1],
      ['b.c', 2],
    ]);
  });

  it('draws a chart without data as a note, and maps percentiles to nines', () => {
    expect(lineChart([], { title: 't', xLabel: 'x', yLabel: 'y' })).toContain('no data');
    expect(nines(99)).toBeCloseTo(2);
    expect(nines(100)).toBe(5);
  });

  it('puts per step the percentile plot, latency per second and CPU stacked, an INVALID step unplotted, and the verdicts at the top', () => {
    const invalid = { valid: false, reasons: ['only 990 of 1000 sockets open'], missingDeliveries: null };
    const direct: BenchResult = {
      ...result,
      figures: { steps: [{ rate: 500 }, { rate: 1000, validity: invalid }], cpuScenario: { kafka: 0.3, 'machine:busy': 1 } },
      series: { ...result.series, steps: [validStep('500/s'), invalidStep('1000/s')] },
      tables: [{ title: "issue 8's targets (figures of this invocation)", lines: ['| target | verdict |', '| --- | --- |', '| rate | FAIL |', '| p50 | **PASS** |', '| ratio | NOT MEASURED |'] }],
    };
    const peer: BenchResult = { ...result, scenario: 'peer', figures: {}, series: { ...result.series, steps: [] }, tables: [{ title: TABLE_TITLES.peer, lines: ['| figure | ahead |', '| --- | --- |', '| rss | **IM** |'] }] };
    const html = renderReport([direct, peer], '');
    const glance = html.slice(html.indexOf('<h2>at a glance</h2>'), html.indexOf('<h2>summary</h2>'));
    expect(glance).toContain('1 INVALID step(s)');
    expect(glance).toContain('direct steps[1000/s]: only 990 of 1000 sockets open');
    expect(glance).toContain('<td class="fail">FAIL</td>');
    expect(glance).toContain('<td class="pass"><b>PASS</b></td>');
    expect(glance).toContain('<td class="unmeasured">NOT MEASURED</td>');
    expect(glance).toContain(`peer: ${TABLE_TITLES.peer}`);
    const section = html.slice(html.indexOf('<section><h2>direct</h2>'));
    expect(section).toContain('500/s: latency by percentile');
    expect(section).toContain('500/s: latency per second');
    expect(section).not.toContain('1000/s: latency by percentile');
    expect(section).toContain('1000/s: INVALID');
    expect(section).toContain('direct: CPU per process');
    // The step's card in place of its charts, and its empty bar in the CPU chart.
    expect(section.match(/class="step invalid-step"/g)).toHaveLength(1);
    expect(section.match(/<rect class="invalid-step"/g)).toHaveLength(1);
  });

  it('says so at the top when no step was INVALID', () => {
    expect(renderReport([result], '')).toContain('no INVALID step');
  });

  it('blanks an INVALID step in the throughput chart and draws its span as INVALID', () => {
    const point = (t: number, phase: string) => ({ t, phase, sent: 500, acked: 500, delivered: 500, errors: 0, open: 2 });
    const r: BenchResult = {
      ...result,
      series: {
        ...result.series,
        throughput: [point(1, 'direct 500/s'), point(2, 'direct 500/s'), point(3, 'direct 1000/s'), point(4, 'direct 1000/s')],
        steps: [validStep('500/s'), invalidStep('1000/s')],
      },
    };
    expect(invalidPhases(r)).toEqual({ blanked: new Set(['direct 1000/s']), bands: [{ from: 2, to: 4, label: '1000/s INVALID' }] });
    const html = renderReport([r], '');
    const title = html.indexOf('throughput over time');
    const chart = html.slice(html.lastIndexOf('<svg', title), html.indexOf('</svg>', title));
    expect(chart).toContain('>1000/s INVALID</text>');
    // sent/s and delivered/s: the 500/s seconds only, none of the invalid step's.
    const lines = [...chart.matchAll(/<path d="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
    expect(lines).toEqual([2, 2]);
  });

  it('puts the ratio chart of a peer run that measured both sides at the top, and none for a failed one', () => {
    const peer: BenchResult = { ...result, scenario: 'peer', figures: { ...peerFigures() } };
    const glance = (html: string): string => html.slice(html.indexOf('<h2>at a glance</h2>'), html.indexOf('<h2>summary</h2>'));
    expect(glance(renderReport([peer], ''))).toContain('IM ÷ Centrifugo (log axis; green: the platform ahead)');
    expect(glance(renderReport([{ ...peer, figures: { failed: 1 } }], ''))).not.toContain('<svg');
  });

  it('shows a peer ratio over an INVALID step as INVALID with the side and the reason, in the HTML and latest.md', () => {
    const f = { ...peerFigures(), ratiosInvalid: { 'fanout1000.deliveriesPerSec': 'INVALID (IM: 3 sends on sockets that were not open)' } };
    f.ratios = { ...f.ratios, 'fanout1000.deliveriesPerSec': null };
    expect(peerRatiosLine(f.ratios, f.ratiosInvalid)).toContain('fanout100.deliveriesPerSec ×2, fanout1000.timeToLastP50 ×4.5, fanout1000.timeToLastMax ×4.67, fanout1000.deliveriesPerSec INVALID (IM: 3 sends on sockets that were not open)');
    const tables = [{ title: TABLE_TITLES.peer, lines: peerTable(f) }];
    expect(tables[0]!.lines).toContain('| 1000 members: deliveries/s in a burst | INVALID | 22000 /s | INVALID (IM: 3 sends on sockets that were not open) | higher | — |');
    const html = renderReport([{ ...result, scenario: 'peer', figures: f as unknown as BenchResult['figures'], tables }], '');
    expect(html).toContain('<td class="fail">INVALID (IM: 3 sends on sockets that were not open)</td>');
    // The ratio chart names the reason where the bar would be.
    const chart = html.slice(html.indexOf('IM ÷ Centrifugo (log axis'), html.indexOf('</svg>', html.indexOf('IM ÷ Centrifugo (log axis')));
    expect(chart).toContain('INVALID (IM: 3 sends on sockets that were not open)');
  });
});
