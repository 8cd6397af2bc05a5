import type { KafkaClientName, KafkaTuning } from '../streams/index.js';
import type { LatencySummary } from './histogram.js';

/**
 * The Kafka client table of the baseline scenario: the same bare 1:1 traffic through the same
 * relays on each client library, step by step, with the winner of each column among the steps
 * that delivered everything at the same hops and rate.
 */
export interface ClientStep {
  rate: number;
  /** How long the step sent for. */
  seconds: number;
  sent: number;
  acked: number;
  delivered: number;
  /** Everything sent was delivered: only such a step can win a column or set the rate per core. */
  complete: boolean;
  sendToAck: LatencySummary;
  sendToDelivery: LatencySummary;
  /** Cores used over the step (send and drain), by process (CpuMeter). */
  cpu: Record<string, number>;
  /** Wall time the CPU was measured over. */
  cpuSeconds: number;
  /** CPU milliseconds per 1,000 delivered records: the client processes (relay + edge), the broker. */
  clientCpuMsPer1k: number | null;
  brokerCpuMsPer1k: number | null;
}

export interface ClientRun {
  client: KafkaClientName;
  hops: number;
  status: 'measured' | 'not installed' | 'failed';
  /** Why a client was not measured, or stopped early. */
  reason: string | null;
  steps: ClientStep[];
  /** Delivered records per second per core of client CPU, at the highest step that held the bound. */
  ratePerCore: { rate: number; perCore: number } | null;
}

/** CPU milliseconds per 1,000 records from cores used over `seconds`; null when nothing was measured. */
export function cpuMsPer1k(cores: number | undefined, seconds: number, records: number): number | null {
  if (cores === undefined || records <= 0 || seconds <= 0) return null;
  return Math.round(((cores * seconds * 1000) / records) * 1000 * 100) / 100;
}

/** A step holds when everything sent was delivered and send-to-delivery p99 stayed under the bound. */
export const holds = (s: ClientStep, p99BoundMs: number): boolean => s.complete && s.sent > 0 && s.sendToDelivery.p99 < p99BoundMs;

/**
 * Records per second one core of client CPU delivers (delivered records over the client's CPU
 * seconds), at the highest rate step that held the bound; null when none did.
 */
export function highestRatePerCore(steps: readonly ClientStep[], p99BoundMs: number): ClientRun['ratePerCore'] {
  const best = steps.filter((s) => holds(s, p99BoundMs) && s.clientCpuMsPer1k !== null && s.clientCpuMsPer1k > 0).sort((a, b) => b.rate - a.rate)[0];
  return best ? { rate: best.rate, perCore: Math.round(1_000_000 / best.clientCpuMsPer1k!) } : null;
}

/** The tuning flag: a KafkaTuning as JSON, every field a non-negative number. */
export function parseTuning(text: string | undefined): KafkaTuning {
  if (text === undefined || text.trim() === '') return {};
  const fields: (keyof KafkaTuning)[] = ['lingerMs', 'fetchMaxWaitMs', 'maxBytesPerPartition', 'commitIntervalMs'];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`--tuning must be JSON (a KafkaTuning), got ${text}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`--tuning must be a JSON object, got ${text}`);
  const tuning: KafkaTuning = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!fields.includes(k as keyof KafkaTuning)) throw new Error(`--tuning: unknown field ${k} (known: ${fields.join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`--tuning: ${k} must be a non-negative number, got ${JSON.stringify(v)}`);
    tuning[k as keyof KafkaTuning] = v;
  }
  return tuning;
}

type Column = (s: ClientStep) => number | null;

/** Bolds the best value of a column among the rows that may win (lowest, or highest when `high`). */
function winners(rows: readonly ClientStep[], column: Column, high = false): Set<ClientStep> {
  const values = rows.map((s) => [s, column(s)] as const).filter((e): e is readonly [ClientStep, number] => e[1] !== null);
  if (values.length < 2) return new Set();
  const best = high ? Math.max(...values.map((e) => e[1])) : Math.min(...values.map((e) => e[1]));
  return new Set(values.filter((e) => e[1] === best).map((e) => e[0]));
}

const cell = (v: number | null, bold: boolean): string => (v === null ? 'n/a' : bold ? `**${v}**` : String(v));

/**
 * The table as markdown: one row per client, hops and rate; a bold figure wins its column among
 * the clients at the same hops and rate that delivered everything (a step that did not is marked
 * and never wins); then the highest rate per core per client and hops, the winner per hops in bold.
 */
export function clientTable(runs: readonly ClientRun[], p99BoundMs: number): string[] {
  const columns: [string, Column][] = [
    ['ack p50', (s) => s.sendToAck.p50],
    ['ack p99', (s) => s.sendToAck.p99],
    ['delivery p50', (s) => s.sendToDelivery.p50],
    ['delivery p99', (s) => s.sendToDelivery.p99],
    ['client CPU ms / 1k', (s) => s.clientCpuMsPer1k],
    ['broker CPU ms / 1k', (s) => s.brokerCpuMsPer1k],
  ];
  const lines = [
    `| client | hops | rate/s | delivered | ${columns.map(([name]) => name).join(' | ')} |`,
    `| --- | --- | --- | --- | ${columns.map(() => '---').join(' | ')} |`,
  ];
  const measured = runs.flatMap((r) => r.steps.map((s) => ({ run: r, step: s })));
  const groups = new Map<string, ClientStep[]>();
  for (const { run, step } of measured) {
    if (!step.complete) continue;
    const key = `${run.hops}|${step.rate}`;
    groups.set(key, [...(groups.get(key) ?? []), step]);
  }
  const won = new Map<string, Set<ClientStep>[]>();
  for (const [key, rows] of groups) won.set(key, columns.map(([, column]) => winners(rows, column)));
  const order = [...measured].sort((a, b) => a.run.hops - b.run.hops || a.step.rate - b.step.rate);
  for (const { run, step } of order) {
    const w = won.get(`${run.hops}|${step.rate}`);
    const delivered = step.complete ? `${step.delivered}/${step.sent}` : `PARTIAL ${step.delivered}/${step.sent}`;
    lines.push(`| ${run.client} | ${run.hops} | ${step.rate} | ${delivered} | ${columns.map(([, column], i) => cell(column(step), w?.[i]?.has(step) ?? false)).join(' | ')} |`);
  }
  for (const run of runs) if (run.status !== 'measured') lines.push(`| ${run.client} | ${run.hops} | — | ${run.status.toUpperCase()}: ${run.reason ?? ''} | ${columns.map(() => '').join(' | ')} |`);

  lines.push('', `| client | hops | highest rate per core (records/s per core of client CPU) | at the step (p99 < ${p99BoundMs} ms, all delivered) |`, '| --- | --- | --- | --- |');
  const bestPerHops = new Map<number, number>();
  for (const r of runs) if (r.ratePerCore) bestPerHops.set(r.hops, Math.max(bestPerHops.get(r.hops) ?? 0, r.ratePerCore.perCore));
  const contenders = (hops: number): number => runs.filter((r) => r.hops === hops && r.ratePerCore).length;
  for (const r of [...runs].sort((a, b) => a.hops - b.hops)) {
    const perCore = r.ratePerCore ? cell(r.ratePerCore.perCore, contenders(r.hops) > 1 && r.ratePerCore.perCore === bestPerHops.get(r.hops)) : r.status === 'measured' ? 'none held' : r.status;
    lines.push(`| ${r.client} | ${r.hops} | ${perCore} | ${r.ratePerCore ? `${r.ratePerCore.rate}/s` : '—'} |`);
  }
  lines.push(
    '',
    `- a bold figure wins its column among the clients at the same hops and rate that delivered everything; a PARTIAL step is shown, never averaged in nor a winner`,
    '- CPU per 1,000 records: CPU time over the step (send and drain) per 1,000 delivered records; the client is the relay and edge processes, the broker is the whole Kafka process (the idle SUT\'s consumers and any other user of the broker included), so low rates carry more of its fixed cost',
  );
  return lines;
}
