import type { EncodedInterval } from '../latency-intervals.js';

/** The IPC contract between bench/run.ts and its load-generator workers (bench/load/worker.ts). */
export type WireProtocol = 'im' | 'centrifugo';

export interface ClientSpec {
  userId: string;
  token: string;
}

export interface ConnectRequest {
  op: 'connect';
  protocol: WireProtocol;
  /** ws://host:port/ws (IM) or ws://host:port/connection/websocket (Centrifugo). */
  url: string;
  clients: ClientSpec[];
  /** Source addresses (127.0.0.x) the clients are spread over. */
  sourceAddresses: string[];
  /** Handshakes in flight at once. */
  concurrency: number;
  /** How long one connection may take to be ready before it counts as failed (default 30 s). */
  timeoutMs?: number;
  /** Client heartbeat period (IM); 0 sends none. */
  heartbeatMs: number;
  /** Centrifugo: channel each client subscribes to after connecting. */
  channel?: string;
}

export interface DirectRequest {
  op: 'direct';
  /** Indexes into this worker's clients: [sender, recipient]. */
  pairs: [number, number][];
  rate: number;
  durationMs: number;
  /** Epoch ms at which the schedule starts (the same for every worker). */
  startAt: number;
  /** Longest wait for outstanding acks and deliveries after the last send. */
  drainMs: number;
}

export interface FanoutRequest {
  op: 'fanout';
  /** Index of the sending client in this worker. */
  sender: number;
  /** Group id (IM) or channel (Centrifugo). */
  target: string;
  count: number;
  intervalMs: number;
  startAt: number;
  tagPrefix: string;
}

/** Ends a phase: histograms and counters since the last collect, then reset. */
export interface CollectRequest {
  op: 'collect';
  /** Keep the outstanding sends (a burst still draining): their acks count in a later collect. */
  keepPending?: boolean;
}

export interface HoldStatusRequest {
  op: 'status';
}

export interface CloseRequest {
  op: 'close';
}

export type WorkerRequest = ConnectRequest | DirectRequest | FanoutRequest | CollectRequest | HoldStatusRequest | CloseRequest;

export interface ConnectReply {
  opened: number;
  failed: number;
  failures: Record<string, number>;
  connectHist: string;
  durationMs: number;
}

/** Per fanout message tag: deliveries seen by this worker and the latest one's latency. */
export interface TagStat {
  n: number;
  maxMs: number;
  firstAt: number;
  lastAt: number;
}

export interface PhaseReply {
  sent: number;
  acked: number;
  delivered: number;
  /** Every error seen, by code (send answers and others, such as a late delivery). */
  errors: Record<string, number>;
  /** Errors that answered one of this phase's sends, by code: sent = acked + sendErrors + unanswered. */
  sendErrors: Record<string, number>;
  /** Sends with neither an ack nor an error at this collect. */
  unanswered: number;
  /** Connections of this worker open at this collect. */
  open: number;
  sendAck: string;
  sendDelivery: string;
  /** The same latencies, one pair of histograms per second they arrived in. */
  intervals: EncodedInterval[];
  tags: Record<string, TagStat>;
}

export interface StatusReply {
  open: number;
  /** Open connections the server has shown it authenticated (see worker.ts). */
  authenticated: number;
  closes: Record<string, number>;
  heartbeatsSent: number;
  heartbeatsAnswered: number;
  /** Unanswered when the client's next heartbeat was due: a whole period. Sent less answered also counts the ones in flight. */
  heartbeatsMissed: number;
}

/** Sent by a worker every second: counts since the previous tick. */
export interface TickEvent {
  op: 'tick';
  sent: number;
  acked: number;
  delivered: number;
  errors: number;
  open: number;
}

export interface ReplyEnvelope {
  op: 'reply';
  id: number;
  ok: boolean;
  error?: string;
  body?: ConnectReply | PhaseReply | StatusReply | null;
}

export type WorkerEvent = TickEvent | ReplyEnvelope;

/** Message content carries the intended send time so any receiver can measure latency. */
export function benchContent(intendedMs: number, tag: string): string {
  return `b|${intendedMs.toFixed(3)}|${tag}`;
}

export function parseBenchContent(content: string): { intendedMs: number; tag: string } | null {
  if (!content.startsWith('b|')) return null;
  const bar = content.indexOf('|', 2);
  if (bar < 0) return null;
  const intendedMs = Number(content.slice(2, bar));
  return Number.isFinite(intendedMs) ? { intendedMs, tag: content.slice(bar + 1) } : null;
}
