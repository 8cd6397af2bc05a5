import type { ReportTable } from '../context.js';
import type { LatencyInterval, SecondLatency } from '../latency-intervals.js';
import type { ConnectionFigures } from '../scenarios/connections.js';
import type { FanoutFigures } from '../scenarios/fanout.js';
import { measured, type StepSeries } from '../step-series.js';
import { derivedInvalid, type Validity } from '../validity.js';
import { cpuByProcess } from './cpu.js';

/**
 * The report's per-step figures as markdown tables, for latest.md and the HTML page alike: latency
 * percentiles, latency per second summarised, CPU per process, and the peer side by side. An
 * INVALID step is a row that says so and why, never figures.
 */
export const TABLE_TITLES = {
  percentiles: 'latency percentiles per step (ms, from the intended send time)',
  intervals: 'latency per second within each step (ms): spread of the per-second p50 and p99, and the worst second',
  cpu: 'CPU per process per step (cores: 1 = one core busy all the time)',
  peer: 'the platform and Centrifugo side by side (same generator, same run)',
} as const;

const KINDS = [
  ['sendToAck', 'send→ack'],
  ['sendToDelivery', 'send→delivery'],
] as const;

const num = (v: number): string => String(Math.round(v * 1000) / 1000);
const invalidCell = (s: StepSeries): string => `INVALID (${s.validity?.reasons.join('; ') ?? ''})`;
const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
const head = (cells: readonly string[]): string[] => [row(cells), row(cells.map(() => '---'))];

export function percentileTable(steps: readonly StepSeries[]): string[] {
  const cols = ['step', 'latency', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max'];
  const rows = steps.flatMap((s) => {
    if (!measured(s)) return [row([s.label, invalidCell(s), ...cols.slice(2).map(() => '—')])];
    return KINDS.map(([k, name]) => {
      const l = s[k].summary;
      return row([s.label, name, String(l.count), ...[l.p50, l.p90, l.p99, l.p999, l.max].map(num)]);
    });
  });
  return [...head(cols), ...rows];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const spread = (xs: readonly number[]): string => (xs.length ? `${num(Math.min(...xs))} / ${num(median(xs))} / ${num(Math.max(...xs))}` : '—');

/** One kind's seconds of a step: how many, the spread of p50 and p99, and the worst second by p99. */
function intervalCells(overTime: readonly LatencyInterval[], kind: 'ack' | 'delivery'): string[] {
  const seconds = overTime.flatMap((i) => (i[kind] ? [{ t: i.t, l: i[kind] as SecondLatency }] : []));
  if (seconds.length === 0) return ['0', '—', '—', '—'];
  const worst = seconds.reduce((w, s) => (s.l.p99 > w.l.p99 ? s : w));
  const span = overTime.length;
  return [`${seconds.length} of ${span}`, spread(seconds.map((s) => s.l.p50)), spread(seconds.map((s) => s.l.p99)), `${num(worst.l.p99)} at ${worst.t} s (${worst.l.count} samples)`];
}

export function intervalTable(steps: readonly StepSeries[]): string[] {
  const cols = ['step', 'latency', 'seconds with samples', 'p50 per second: min / median / max', 'p99 per second: min / median / max', 'worst second (p99)'];
  const rows = steps.flatMap((s) => {
    if (!measured(s)) return [row([s.label, invalidCell(s), '—', '—', '—', '—'])];
    return [row([s.label, 'send→ack', ...intervalCells(s.overTime, 'ack')]), row([s.label, 'send→delivery', ...intervalCells(s.overTime, 'delivery')])];
  });
  return [...head(cols), ...rows];
}

/** A CPU row: a step's cores per process, or null for an INVALID step (`reason` says why). */
export interface CpuRow {
  label: string;
  cpu: Readonly<Record<string, number>> | null;
  reason?: string;
}

export function cpuRows(steps: readonly StepSeries[], scenarioCpu?: Readonly<Record<string, number>>): CpuRow[] {
  const rows: CpuRow[] = steps.map((s) => (measured(s) ? { label: s.label, cpu: s.cpu } : { label: s.label, cpu: null, reason: invalidCell(s) }));
  if (scenarioCpu && Object.keys(scenarioCpu).length > 0) rows.push({ label: 'whole scenario', cpu: scenarioCpu });
  return rows;
}

export function cpuTable(rows: readonly CpuRow[]): string[] {
  // Every process any row has, in cpuByProcess's order.
  const all: Record<string, number> = {};
  for (const r of rows) for (const k of Object.keys(r.cpu ?? {})) all[k] = 0;
  const names = cpuByProcess(all).map((p) => p.name);
  const out = [...head(['step', ...names, 'machine busy'])];
  for (const r of rows) {
    if (!r.cpu) {
      out.push(row([r.label, r.reason ?? 'INVALID', ...names.map(() => '—'), '—']));
      continue;
    }
    const by = new Map(cpuByProcess(r.cpu).map((p) => [p.name, p.cores]));
    const busy = r.cpu['machine:busy'];
    out.push(row([r.label, ...names.map((n) => (by.has(n) ? num(by.get(n)!) : '—')), busy === undefined ? '—' : num(busy)]));
  }
  return out;
}

/** The per-step tables of a scenario; none when it recorded no steps and no CPU. */
export function stepTables(steps: readonly StepSeries[], scenarioCpu?: Readonly<Record<string, number>>): ReportTable[] {
  const tables: ReportTable[] = [];
  if (steps.length > 0) {
    tables.push({ title: TABLE_TITLES.percentiles, lines: percentileTable(steps) });
    tables.push({ title: TABLE_TITLES.intervals, lines: intervalTable(steps) });
  }
  const rows = cpuRows(steps, scenarioCpu);
  if (rows.length > 0) tables.push({ title: TABLE_TITLES.cpu, lines: cpuTable(rows) });
  return tables;
}

/** What the side-by-side table reads of one side's connections and fan-out figures. */
export type PeerConnection = Pick<ConnectionFigures, 'rss' | 'connect' | 'validity'>;
export type PeerFanout = Pick<FanoutFigures, 'members' | 'latency' | 'throughput' | 'validity'>;

/** The peer scenario's figures (bench/scenarios/peer.ts). */
export interface PeerFigures {
  im: { connections: PeerConnection; fanout: PeerFanout[] };
  centrifugo: { connections: PeerConnection; fanout: PeerFanout[] };
  ratios: Record<string, number | null>;
  /** Why a figure has no ratio: the side whose step was INVALID, and its reasons (absent in older results). */
  ratiosInvalid?: Record<string, string>;
}

type Better = 'lower' | 'higher';
/** One side's figure and the validity of the step it came from. */
type Side = { v: number; ok: Validity };

/** One figure of both: the ratio is null where it means nothing (`why` says so: which side is INVALID, and why). */
export interface PeerRow {
  figure: string;
  unit: string;
  better: Better;
  im: Side;
  peer: Side | null;
  ratio: number | null;
  why: string | null;
}

/** Every compared figure; a figure whose step on either side is INVALID has no ratio. */
export function peerRows(f: PeerFigures): PeerRow[] {
  const rows: PeerRow[] = [];
  const add = (figure: string, ratioKey: string, better: Better, unit: string, im: Side, peer: Side | null): void => {
    const why = !peer ? 'not measured on Centrifugo' : derivedInvalid([{ name: 'IM', validity: im.ok }, { name: 'Centrifugo', validity: peer.ok }]);
    rows.push({ figure, unit, better, im, peer, ratio: why ? null : (f.ratios[ratioKey] ?? null), why });
  };
  const conn = (c: PeerConnection, v: (c: PeerConnection) => number): Side => ({ v: v(c), ok: c.validity });
  const [ic, pc] = [f.im.connections, f.centrifugo.connections];
  add('server memory per connection', 'rssPerConnection', 'lower', 'KiB', conn(ic, (c) => c.rss.perConnectionBytes / 1024), conn(pc, (c) => c.rss.perConnectionBytes / 1024));
  add('connect rate', 'connectRate', 'higher', 'conn/s', conn(ic, (c) => c.connect.ratePerSec), conn(pc, (c) => c.connect.ratePerSec));
  add('handshake p99', 'connectP99', 'lower', 'ms', conn(ic, (c) => c.connect.handshake.p99), conn(pc, (c) => c.connect.handshake.p99));
  const fan = (g: PeerFanout, v: (g: PeerFanout) => number): Side => ({ v: v(g), ok: g.validity });
  for (const x of f.im.fanout) {
    const p = f.centrifugo.fanout.find((y) => y.members === x.members);
    const both = (v: (g: PeerFanout) => number): [Side, Side | null] => [fan(x, v), p ? fan(p, v) : null];
    const key = `fanout${x.members}`;
    add(`${x.members} members: last member p50`, `${key}.timeToLastP50`, 'lower', 'ms', ...both((g) => g.latency.timeToLastMember.p50));
    add(`${x.members} members: last member max`, `${key}.timeToLastMax`, 'lower', 'ms', ...both((g) => g.latency.timeToLastMember.max));
    add(`${x.members} members: deliveries/s in a burst`, `${key}.deliveriesPerSec`, 'higher', '/s', ...both((g) => g.throughput.deliveriesPerSec));
  }
  return rows;
}

/** Whether the platform is ahead on a row: null where there is no ratio or it is even. */
export function imAhead(r: Pick<PeerRow, 'ratio' | 'better'>): boolean | null {
  if (r.ratio === null || r.ratio === 1) return null;
  return (r.better === 'lower') === r.ratio < 1;
}

/** IM beside Centrifugo with IM ÷ Centrifugo (peerRatios) and which side did better. */
export function peerTable(f: PeerFigures): string[] {
  const cell = (s: Side | null, unit: string): string => (!s ? '—' : s.ok.valid ? `${num(s.v)} ${unit}` : 'INVALID');
  return [
    ...head(['figure', 'IM', 'Centrifugo', 'IM ÷ Centrifugo', 'better is', 'ahead']),
    ...peerRows(f).map((r) => {
      const ahead = imAhead(r);
      const who = r.why || r.ratio === null ? '—' : ahead === null ? 'even' : ahead ? '**IM**' : 'Centrifugo';
      return row([r.figure, cell(r.im, r.unit), cell(r.peer, r.unit), r.why ?? (r.ratio === null ? 'n/a' : `×${r.ratio}`), r.better, who]);
    }),
  ];
}
