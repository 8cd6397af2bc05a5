import { nowMs, sleep } from '../clock.js';
import { mergeEncoded, percentileCurve, summarize, type Histogram, type LatencySummary, type PercentileCurve } from '../histogram.js';
import { addEncodedIntervals, type IntervalHistograms } from '../latency-intervals.js';
import type { ClientSpec, ConnectReply, PhaseReply, TagStat, WireProtocol } from '../load/messages.js';
import { WorkerPool } from '../load/pool.js';

/** Connections held by one worker: which users, in order (their index is the client index). */
export type Assignment = ClientSpec[][];

/** Each worker keeps at most this many sockets (the hard file limit here is 20,000 per process). */
export const PER_WORKER_MAX = 15_000;

export function workersFor(connections: number, min = 2): number {
  return Math.max(min, Math.ceil(connections / PER_WORKER_MAX));
}

/** Round-robin over workers, or in blocks when `keepTogether` (pairs must share a worker). */
export function assign(clients: readonly ClientSpec[], workers: number, blockSize = 1): Assignment {
  const out: Assignment = Array.from({ length: workers }, () => []);
  for (let i = 0; i < clients.length; i += blockSize) out[Math.floor(i / blockSize) % workers]!.push(...clients.slice(i, i + blockSize));
  return out;
}

export interface ConnectSummary {
  requested: number;
  opened: number;
  failed: number;
  failures: Record<string, number>;
  seconds: number;
  ratePerSec: number;
  handshake: LatencySummary;
}

export type ConnectOptions = { protocol: WireProtocol; url: string; sourceAddresses: string[]; heartbeatMs: number; channel?: string; concurrency?: number; timeoutMs?: number };

export async function connectAll(pool: WorkerPool, a: Assignment, o: ConnectOptions): Promise<ConnectSummary> {
  const t0 = nowMs();
  const replies = await connectReplies(pool, a, o);
  return summarizeConnects(replies, (nowMs() - t0) / 1000);
}

/** Each worker's reply to one connect call (its share of `a`). */
export function connectReplies(pool: WorkerPool, a: Assignment, o: ConnectOptions): Promise<ConnectReply[]> {
  return pool.all((w) => ({
    op: 'connect' as const,
    protocol: o.protocol,
    url: o.url,
    clients: a[w.index] ?? [],
    sourceAddresses: o.sourceAddresses,
    concurrency: o.concurrency ?? 64,
    timeoutMs: o.timeoutMs,
    heartbeatMs: o.heartbeatMs,
    channel: o.channel,
  }));
}

/** Connect replies (of one call or several in a row) over the seconds they took. */
export function summarizeConnects(replies: readonly ConnectReply[], seconds: number): ConnectSummary {
  const failures: Record<string, number> = {};
  for (const r of replies) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  const opened = replies.reduce((s, r) => s + r.opened, 0);
  const failed = replies.reduce((s, r) => s + r.failed, 0);
  return {
    requested: opened + failed,
    opened,
    failed,
    failures,
    seconds: round(seconds),
    ratePerSec: Math.round(opened / Math.max(seconds, 0.001)),
    handshake: summarize(mergeEncoded(replies.map((r) => r.connectHist))),
  };
}

export interface PhaseSummary {
  sent: number;
  acked: number;
  delivered: number;
  errors: Record<string, number>;
  /** Errors answering this phase's sends, by code; sent = acked + sendErrors + unanswered. */
  sendErrors: Record<string, number>;
  unanswered: number;
  /** Generator sockets open at the collect. */
  open: number;
  sendToAck: LatencySummary;
  sendToDelivery: LatencySummary;
  ackCurve: PercentileCurve;
  deliveryCurve: PercentileCurve;
  /** The merged histograms and per-second histograms, for a step made of several collects (StepRecorder). */
  ackHistogram: Histogram;
  deliveryHistogram: Histogram;
  intervals: IntervalHistograms;
  tags: Map<string, TagStat>;
}

/** Ends a phase on every worker and merges what they recorded (`keepPending`: a burst still draining). */
export async function collectAll(pool: WorkerPool, keepPending = false): Promise<PhaseSummary> {
  const replies: PhaseReply[] = await pool.all({ op: 'collect' as const, keepPending });
  const ack = mergeEncoded(replies.map((r) => r.sendAck));
  const del = mergeEncoded(replies.map((r) => r.sendDelivery));
  const errors: Record<string, number> = {};
  const sendErrors: Record<string, number> = {};
  const tags = new Map<string, TagStat>();
  for (const r of replies) {
    for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.sendErrors)) sendErrors[k] = (sendErrors[k] ?? 0) + v;
    for (const [k, s] of Object.entries(r.tags)) {
      const t = tags.get(k);
      if (!t) tags.set(k, { ...s });
      else tags.set(k, { n: t.n + s.n, maxMs: Math.max(t.maxMs, s.maxMs), firstAt: Math.min(t.firstAt, s.firstAt), lastAt: Math.max(t.lastAt, s.lastAt) });
    }
  }
  return {
    sent: replies.reduce((s, r) => s + r.sent, 0),
    acked: replies.reduce((s, r) => s + r.acked, 0),
    delivered: replies.reduce((s, r) => s + r.delivered, 0),
    errors,
    sendErrors,
    unanswered: replies.reduce((s, r) => s + r.unanswered, 0),
    open: replies.reduce((s, r) => s + r.open, 0),
    sendToAck: summarize(ack),
    sendToDelivery: summarize(del),
    ackCurve: percentileCurve(ack),
    deliveryCurve: percentileCurve(del),
    ackHistogram: ack,
    deliveryHistogram: del,
    intervals: addEncodedIntervals(new Map(), replies.flatMap((r) => r.intervals)),
    tags,
  };
}

/** Waits until `check` holds or the time is up; true when it held. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Whether a step's limit is the system under test: one of its processes near a full core, or the
 * machine's cores nearly all busy while no load-generator worker is near a full core.
 */
export function saturation(cpu: Record<string, number>, cores: number): { saturated: boolean; reason: string } {
  const sut = Object.entries(cpu).filter(([k]) => k.startsWith('sut-'));
  const workers = Object.entries(cpu).filter(([k]) => k.startsWith('bench-worker'));
  const total = cpu['machine:busy'] ?? Object.entries(cpu).reduce((a, [k, v]) => (k.startsWith('machine:') ? a : a + v), 0);
  const other = cpu['machine:other'] ?? 0;
  const busyWorker = workers.find(([, v]) => v >= 0.9);
  if (busyWorker) return { saturated: false, reason: `load generator ${busyWorker[0]} at ${busyWorker[1]} cores` };
  const hot = sut.find(([, v]) => v >= 0.9);
  if (hot) return { saturated: true, reason: `${hot[0]} at ${hot[1]} cores` };
  const others = other >= 0.1 ? ` (${round(other)} of them outside the bench and the SUT)` : '';
  if (total >= cores * 0.9) return { saturated: true, reason: `machine at ${round(total)} of ${cores} cores${others}` };
  return { saturated: false, reason: `machine at ${round(total)} of ${cores} cores${others}, no SUT process near a full core` };
}
