import { nowMs, sleep } from '../clock.js';
import { createHistogram, encodeHistogram, recordMs } from '../histogram.js';
import { IntervalRecorder } from '../latency-intervals.js';
import { OpenLoopSchedule } from '../scheduler.js';
import { centrifugoClient } from './client-centrifugo.js';
import type { BenchClient, ClientHooks } from './client.js';
import { imClient } from './client-im.js';
import {
  benchContent,
  parseBenchContent,
  type ConnectReply,
  type ConnectRequest,
  type DirectRequest,
  type FanoutRequest,
  type PhaseReply,
  type StatusReply,
  type TagStat,
  type WorkerEvent,
  type WorkerRequest,
} from './messages.js';

/**
 * A load-generator process: holds a share of the connections, sends on an open-loop schedule
 * and records send-to-ack and send-to-delivery latency from the intended send time.
 */
const wid = process.env.BENCH_WORKER_ID ?? String(process.pid);
/** By spec order across connect calls; a failed connection leaves its slot empty. */
let clients: ({ userId: string; c: BenchClient } | undefined)[] = [];
let sendAck = createHistogram();
let sendDelivery = createHistogram();
/** The same latencies by the second they arrived in: latency over time within a step. */
const intervals = new IntervalRecorder();
const pending = new Map<string, number>();
let tags = new Map<string, TagStat>();
const counts = { sent: 0, acked: 0, delivered: 0, errors: {} as Record<string, number>, sendErrors: {} as Record<string, number> };
const tick = { sent: 0, acked: 0, delivered: 0, errors: 0 };
const closes: Record<string, number> = {};
let open = 0;
let closing = false;
let hbSent = 0;
let hbAnswered = 0;
/** By client: since when a heartbeat of it has waited for its answer. */
const hbAwaiting = new Map<number, number>();
/** Heartbeats unanswered for a whole period; the period is the connect request's. */
let hbMissed = 0;
let hbPeriodMs = 0;

/**
 * A heartbeat of client `i`. One of it unanswered for a whole period is missed; one sent just
 * before (the first, at connect, may precede the rotation's by a few ms) is merely in flight.
 */
function heartbeat(i: number): void {
  const c = clients[i]?.c;
  if (!c) return;
  const now = nowMs();
  const since = hbAwaiting.get(i);
  if (since === undefined) hbAwaiting.set(i, now);
  else if (now - since >= hbPeriodMs) {
    hbMissed++;
    hbAwaiting.set(i, now);
  }
  c.heartbeat();
  hbSent++;
}
let seq = 0;
/** Tag of the current direct step's messages. */
let directTag = 'd0';
let steps = 0;

const emit = (e: WorkerEvent): void => void process.send?.(e);

/** The fanout sender's own copies (Centrifugo echoes to subscribers, the sender included) are not members' deliveries. */
let mutedClient = -1;

/** Slots whose connection completed: only their closes count as open connections lost. */
const counted = new Set<number>();
/**
 * Open slots the server has shown it authenticated: IM answers a heartbeat only on a connection
 * it admitted (the upgrade comes before the token check); Centrifugo's connect reply says it.
 */
const authenticated = new Set<number>();

function hooksFor(index: number): ClientHooks {
  return {
    ...hooks,
    onDelivery: (content) => (index === mutedClient ? undefined : hooks.onDelivery(content)),
    onHeartbeatAnswer: () => {
      hbAwaiting.delete(index);
      if (counted.has(index)) authenticated.add(index);
      hooks.onHeartbeatAnswer();
    },
    onClose: (code) => {
      authenticated.delete(index);
      hbAwaiting.delete(index);
      if (counted.delete(index)) hooks.onClose(code);
    },
  };
}

const hooks: ClientHooks = {
  onAck(key) {
    const t = pending.get(key);
    if (t === undefined) return;
    pending.delete(key);
    const now = nowMs();
    recordMs(sendAck, now - t);
    intervals.record('ack', now, now - t);
    counts.acked++;
    tick.acked++;
  },
  onDelivery(content) {
    const now = nowMs();
    const b = parseBenchContent(content);
    if (!b) return;
    // A direct message of an earlier step arriving now is late, not this step's delivery.
    if (b.tag.startsWith('d') && b.tag !== directTag) {
      counts.errors.LATE_FROM_EARLIER_STEP = (counts.errors.LATE_FROM_EARLIER_STEP ?? 0) + 1;
      return;
    }
    const lat = now - b.intendedMs;
    recordMs(sendDelivery, lat);
    intervals.record('delivery', now, lat);
    counts.delivered++;
    tick.delivered++;
    if (b.tag.startsWith('f:')) {
      const s = tags.get(b.tag);
      if (s) {
        s.n++;
        s.maxMs = Math.max(s.maxMs, lat);
        s.lastAt = Math.max(s.lastAt, now);
        s.firstAt = Math.min(s.firstAt, now);
      } else tags.set(b.tag, { n: 1, maxMs: lat, firstAt: now, lastAt: now });
    }
  },
  onError(code, key) {
    // Only an answer to an outstanding send accounts for it (sent = acked + send errors + unanswered).
    if (key !== undefined && pending.delete(key)) counts.sendErrors[code] = (counts.sendErrors[code] ?? 0) + 1;
    counts.errors[code] = (counts.errors[code] ?? 0) + 1;
    tick.errors++;
  },
  onHeartbeatAnswer() {
    hbAnswered++;
  },
  onClose(code) {
    open--;
    if (!closing) closes[String(code)] = (closes[String(code)] ?? 0) + 1;
  },
};

async function connect(req: ConnectRequest): Promise<ConnectReply> {
  const hist = createHistogram();
  const failures: Record<string, number> = {};
  const t0 = nowMs();
  let next = 0;
  let opened = 0;
  const make = req.protocol === 'im' ? imClient : centrifugoClient;
  if (req.heartbeatMs > 0) hbPeriodMs = req.heartbeatMs;
  const base = clients.length;
  clients.length = base + req.clients.length;
  const slot = async (): Promise<void> => {
    while (next < req.clients.length) {
      const i = next++;
      const spec = req.clients[i]!;
      const start = nowMs();
      const localAddress = req.sourceAddresses[i % req.sourceAddresses.length]!;
      const c = make({ url: req.url, token: spec.token, localAddress, hooks: hooksFor(base + i), channel: req.channel, timeoutMs: req.timeoutMs ?? 30_000 });
      try {
        await c.ready;
        recordMs(hist, nowMs() - start);
        clients[base + i] = { userId: spec.userId, c };
        counted.add(base + i);
        if (req.protocol !== 'im') authenticated.add(base + i);
        // A first heartbeat at once: its answer shows the server admitted the connection.
        else if (req.heartbeatMs > 0) heartbeat(base + i);
        open++;
        opened++;
      } catch (err) {
        const reason = (err as Error).message;
        failures[reason] = (failures[reason] ?? 0) + 1;
        c.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, req.concurrency) }, slot));
  if (req.heartbeatMs > 0) startHeartbeats(req.heartbeatMs);
  return { opened, failed: req.clients.length - opened, failures, connectHist: encodeHistogram(hist), durationMs: nowMs() - t0 };
}

/** Every client heartbeats once per period, spread evenly over it (one slice per 100 ms). */
let heartbeating = false;
function startHeartbeats(periodMs: number): void {
  // Once: later connect calls add clients to the same rotation.
  if (heartbeating) return;
  heartbeating = true;
  const slices = Math.max(1, Math.round(periodMs / 100));
  let slice = 0;
  setInterval(() => {
    for (let i = slice; i < clients.length; i += slices) heartbeat(i);
    slice = (slice + 1) % slices;
  }, 100).unref();
}

function sendOne(sender: number, target: string, kind: 'user' | 'group', intended: number, tag: string): void {
  const key = `${wid}-${++seq}`;
  counts.sent++;
  tick.sent++;
  const c = clients[sender]?.c;
  pending.set(key, intended);
  if (!c) return hooks.onError('NOT_CONNECTED', key);
  c.send(target, kind, benchContent(intended, tag), key);
}

/** Waits until nothing is outstanding (or `maxMs`). */
async function drain(expectDeliveries: number, maxMs: number): Promise<void> {
  const until = nowMs() + maxMs;
  while (nowMs() < until && (pending.size > 0 || counts.delivered < expectDeliveries)) await sleep(50);
}

async function direct(req: DirectRequest): Promise<null> {
  const sched = new OpenLoopSchedule(req.startAt, req.rate, req.durationMs);
  directTag = `d${++steps}`;
  let p = 0;
  await new Promise<void>((resolve) => {
    const step = (): void => {
      for (const t of sched.due(nowMs())) {
        const [s, r] = req.pairs[p++ % req.pairs.length]!;
        sendOne(s, clients[r]?.userId ?? '', 'user', t, directTag);
      }
      if (sched.done) resolve();
      else setTimeout(step, 1);
    };
    setTimeout(step, Math.max(0, req.startAt - nowMs()));
  });
  await drain(counts.sent, req.drainMs);
  return null;
}

async function fanout(req: FanoutRequest): Promise<null> {
  mutedClient = req.sender;
  const sched = new OpenLoopSchedule(req.startAt, 1000 / req.intervalMs, req.count * req.intervalMs);
  await new Promise<void>((resolve) => {
    const step = (): void => {
      for (const t of sched.due(nowMs())) sendOne(req.sender, req.target, 'group', t, `f:${req.tagPrefix}:${sched.issued}`);
      if (sched.done) resolve();
      else setTimeout(step, 1);
    };
    setTimeout(step, Math.max(0, req.startAt - nowMs()));
  });
  return null;
}

function collect(keepPending: boolean): PhaseReply {
  const reply: PhaseReply = {
    ...counts,
    errors: { ...counts.errors },
    sendErrors: { ...counts.sendErrors },
    unanswered: pending.size,
    open,
    sendAck: encodeHistogram(sendAck),
    sendDelivery: encodeHistogram(sendDelivery),
    intervals: intervals.take(),
    tags: Object.fromEntries(tags),
  };
  sendAck = createHistogram();
  sendDelivery = createHistogram();
  tags = new Map();
  if (!keepPending) pending.clear();
  Object.assign(counts, { sent: 0, acked: 0, delivered: 0, errors: {}, sendErrors: {} });
  return reply;
}

function status(): StatusReply {
  return { open, authenticated: authenticated.size, closes: { ...closes }, heartbeatsSent: hbSent, heartbeatsAnswered: hbAnswered, heartbeatsMissed: hbMissed };
}

async function handle(req: WorkerRequest): Promise<ConnectReply | PhaseReply | StatusReply | null> {
  switch (req.op) {
    case 'connect':
      return connect(req);
    case 'direct':
      return direct(req);
    case 'fanout':
      return fanout(req);
    case 'collect':
      return collect(req.keepPending === true);
    case 'status':
      return status();
    case 'close':
      closing = true;
      for (const x of clients) x?.c.close();
      clients = [];
      setTimeout(() => process.exit(0), 100);
      return null;
  }
}

setInterval(() => {
  emit({ op: 'tick', ...tick, open });
  Object.assign(tick, { sent: 0, acked: 0, delivered: 0, errors: 0 });
}, 1000).unref();

process.on('message', (msg: WorkerRequest & { id: number }) => {
  handle(msg).then(
    (body) => emit({ op: 'reply', id: msg.id, ok: true, body }),
    (err: unknown) => emit({ op: 'reply', id: msg.id, ok: false, error: (err as Error).message }),
  );
});
process.on('disconnect', () => process.exit(0));
