import type { BenchContext, ScenarioOutput } from '../context.js';
import { intFlag } from '../args.js';
import { sleep } from '../clock.js';
import { WorkerPool } from '../load/pool.js';
import { CpuMeter, readSockstat, sampleProc } from '../procstat.js';
import { hardFileLimit } from '../sut.js';
import { userIds } from '../tokens.js';
import { assign, connectAll, round, workersFor, type ConnectSummary } from './common.js';
import type { Target } from './targets.js';
import { connectionValidity, invalidLabel, type Validity } from '../validity.js';

export interface ConnectionFigures {
  target: string;
  requested: number;
  connect: ConnectSummary;
  holdSec: number;
  openAfterHold: number;
  unexpectedCloses: Record<string, number>;
  heartbeats: { sent: number; answered: number; failures: number };
  rss: { baselineBytes: number; loadedBytes: number; perConnectionBytes: number };
  sockstat: { before: Record<string, number>; after: Record<string, number>; tcpMemPagesDelta: number; tcpMemBytesPerConnection: number };
  cpu: Record<string, number>;
  validity: Validity;
}

/** Caps N below the per-process file limit, which the gateway cannot exceed. */
export function connectionCap(requested: number): { n: number; note: string | null } {
  const limit = hardFileLimit();
  const cap = limit - 500;
  if (requested <= cap) return { n: requested, note: null };
  return { n: cap, note: `requested ${requested} connections, capped to ${cap}: the hard RLIMIT_NOFILE here is ${limit} per process and cannot be raised (no CAP_SYS_RESOURCE), so one server process holds at most that many sockets` };
}

/**
 * Ramps to N authenticated idle connections, holds them with heartbeats, and reports the
 * server's RSS per connection and the kernel's socket memory (client and server sides both
 * live on this machine, so sockstat counts two sockets per connection).
 */
export async function measureConnections(ctx: BenchContext, target: Target, requested: number, holdSec: number, heartbeatMs: number): Promise<ConnectionFigures> {
  const pid = target.serverPid();
  const ids = userIds(`c-${target.name}-`, requested);
  ctx.log(`[connections:${target.name}] minting ${requested} tokens`);
  const clients = await target.clients(ids);
  const pool = new WorkerPool(workersFor(requested));
  const meter = new CpuMeter(() => new Map([...ctx.sut.pids(), ...pool.pids(), [`sut-${target.name}`, pid]]));
  try {
    await sleep(1000);
    const sockBefore = readSockstat();
    const rss0 = sampleProc(pid)?.rssBytes ?? 0;
    meter.begin();
    ctx.progress.start(`connections:${target.name} ramp`, pool, { target: target.name, pid });
    const connect = await connectAll(pool, assign(clients, pool.workers.length), { protocol: target.protocol, url: target.url, sourceAddresses: ctx.sourceAddresses, heartbeatMs, concurrency: 64 });
    ctx.progress.start(`connections:${target.name} hold`, pool, { target: target.name, pid });
    await sleep(holdSec * 1000);
    ctx.progress.stop();
    const cpu = meter.end();
    const statuses = await pool.all({ op: 'status' as const });
    const rss1 = sampleProc(pid)?.rssBytes ?? 0;
    const sockAfter = readSockstat();
    const open = statuses.reduce((s, x) => s + x.open, 0);
    const closes: Record<string, number> = {};
    for (const s of statuses) for (const [k, v] of Object.entries(s.closes)) closes[k] = (closes[k] ?? 0) + v;
    const sent = statuses.reduce((s, x) => s + x.heartbeatsSent, 0);
    const answered = statuses.reduce((s, x) => s + x.heartbeatsAnswered, 0);
    const memDelta = (sockAfter['TCP.mem'] ?? 0) - (sockBefore['TCP.mem'] ?? 0);
    return {
      target: target.name,
      requested,
      connect,
      holdSec,
      openAfterHold: open,
      unexpectedCloses: closes,
      // IM answers each client heartbeat; Centrifugo pings and counts our answers instead.
      heartbeats: { sent, answered, failures: target.name === 'im' ? Math.max(0, sent - answered) : 0 },
      rss: { baselineBytes: rss0, loadedBytes: rss1, perConnectionBytes: open > 0 ? Math.round((rss1 - rss0) / open) : 0 },
      sockstat: { before: sockBefore, after: sockAfter, tcpMemPagesDelta: memDelta, tcpMemBytesPerConnection: open > 0 ? Math.round((memDelta * 4096) / open) : 0 },
      cpu,
      validity: connectionValidity(requested, connect.opened, open, connect.failures),
    };
  } finally {
    ctx.progress.stop();
    await pool.close();
  }
}

export async function connectionsScenario(ctx: BenchContext, target: Target): Promise<ScenarioOutput> {
  const { n, note } = connectionCap(intFlag(ctx.flags, 'connections', 10_000));
  const holdSec = intFlag(ctx.flags, 'hold-sec', 30);
  const heartbeatMs = intFlag(ctx.flags, 'heartbeat-ms', 10_000);
  const f = await measureConnections(ctx, target, n, holdSec, heartbeatMs);
  const bad = invalidLabel(f.validity);
  if (bad) ctx.log(`[connections] ${bad}`);
  ctx.log(`[connections] ${f.openAfterHold}/${n} open, ${f.connect.ratePerSec} conn/s, RSS ${round(f.rss.perConnectionBytes / 1024)} KiB/conn, kernel TCP ${round(f.sockstat.tcpMemBytesPerConnection / 1024)} KiB/conn`);
  return {
    scenario: 'connections',
    configuration: { connections: n, holdSec, heartbeatMs, sourceAddresses: ctx.sourceAddresses.length },
    figures: { im: f },
    latencyCurves: [],
    notes: [...(note ? [note] : []), ...(bad ? [`connections ${bad}: per-connection figures are not a measurement`] : [])],
  };
}
