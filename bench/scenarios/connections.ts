import { readFileSync } from 'node:fs';
import type { BenchContext, ScenarioOutput } from '../context.js';
import { intFlag } from '../args.js';
import { nowMs, sleep } from '../clock.js';
import type { ClientSpec, ConnectReply } from '../load/messages.js';
import { WorkerPool } from '../load/pool.js';
import { childPids, CpuMeter, readSlabinfo, readSockstat, sampleProc } from '../procstat.js';
import { hardFileLimit, ManagedProcess, waitHttp } from '../sut.js';
import { userIds } from '../tokens.js';
import { assign, connectReplies, round, summarizeConnects, workersFor, type ConnectSummary } from './common.js';
import type { HeapBytes, Target } from './targets.js';
import { connectionValidity, invalidLabel, type Validity } from '../validity.js';

/**
 * Slab caches a TCP connection's objects live in, on each end: the socket (`TCP`), its inode and
 * wait queue (`sock_inode_cache`), the file and its dentry (`filp`, `dentry`), the epoll item
 * watching it (`eventpoll_epi`). Both ends have one of each here (gateway and generator are
 * both epoll-driven Node processes on this machine).
 */
export const SOCKET_CACHES = ['TCP', 'sock_inode_cache', 'filp', 'dentry', 'eventpoll_epi'] as const;
/**
 * Caches only the generator's end grows: the bind buckets of its explicitly bound source
 * address and port (the server's accepted sockets share the listener's). Absent on a kernel
 * that merged them into another cache.
 */
export const CLIENT_ONLY_CACHES = ['tcp_bind_bucket', 'tcp_bind2_bucket', 'inet_bind_bucket', 'inet_bind2_bucket'] as const;
/** The issue's bar: at most this many bytes per idle connection, the kernel's share included. */
export const BYTES_PER_CONNECTION_BAR = 8 * 1024;

/** Memory at one connection count, every connection open and authenticated (else the step is invalid). */
export interface MemorySample {
  connections: number;
  open: number;
  authenticated: number;
  /** RSS of each server process (an instance: the primary and every worker). */
  rssBytes: Record<string, number>;
  rssTotalBytes: number;
  /**
   * The JS heap and external memory over the server's processes (its /metrics, after a full
   * collection; null where the server does not say).
   */
  heap: HeapBytes | null;
  /** Bytes held by each socket cache (slabinfo: whole slabs), and the kernel's whole slab (meminfo). */
  slabBytes: Record<string, number>;
  meminfoSlabBytes: number;
  /** sockstat's TCP buffer pages (both ends). */
  tcpMemPages: number;
}

export interface MemoryFigures {
  samples: MemorySample[];
  /**
   * Bytes per connection, slopes over the samples (least squares). `perConnection` is the figure:
   * - counted by part where the server's heap is known and a bare uWS process held the same
   *   sockets (`parts`): the live JS heap (`heapUsed`, after a full collection) and external
   *   memory (`external`, Buffers; counted when it grows) of the server's processes, plus uWS's
   *   native memory per socket (`nativeSocket`, the bare process's malloc bytes in use).
   *   The gateway's own RSS holds its JIT, its heap's sizing and what the allocator keeps after a
   *   connect storm: it fell while 7,500 connections were added (slope -401 B/conn);
   * - else the server's RSS (less the heap's free space where known) (`rss`: Centrifugo).
   * `rssLessHeapFree` and `rss` are kept as cross-checks.
   */
  server: {
    perConnection: number | null;
    method: 'parts' | 'rss';
    heapUsed: number | null;
    external: number | null;
    nativeSocket: number | null;
    rssLessHeapFree: number | null;
    rss: number;
    processes: number;
  };
  kernel: {
    /** Per cache, both ends; null when /proc/slabinfo was not readable. */
    perCache: Record<string, number> | null;
    /** The socket caches summed (both ends), and the server's end (half of them). */
    socketCachesBothEnds: number | null;
    serverEnd: number | null;
    /** The client's bind buckets (not counted for the server). */
    clientOnly: number | null;
    /** The whole slab's slope (meminfo Slab; everything on the machine, both ends): a cross-check. */
    meminfoSlab: number;
    /** sockstat TCP buffer pages x page size, both ends (idle sockets hold almost none). */
    buffersBothEnds: number;
  };
  /** The server's figure + kernel server end + half the buffers: the figure the bar is about. */
  serverTotalPerConnection: number | null;
  bar: number;
  verdict: 'PASS' | 'FAIL' | 'NOT MEASURED';
}

export interface ConnectionFigures {
  target: string;
  requested: number;
  connect: ConnectSummary;
  holdSec: number;
  openAfterHold: number;
  authenticatedAfterHold: number;
  unexpectedCloses: Record<string, number>;
  /** failures: heartbeats unanswered for a whole period (sent less answered also counts those in flight when counted). */
  heartbeats: { sent: number; answered: number; failures: number };
  /** perConnectionBytes: the server's figure (memory.server.perConnection), 0 when not measured. */
  rss: { baselineBytes: number; loadedBytes: number; perConnectionBytes: number };
  sockstat: { before: Record<string, number>; after: Record<string, number>; tcpMemPagesDelta: number; tcpMemBytesPerConnection: number };
  memory: MemoryFigures;
  cpu: Record<string, number>;
  validity: Validity;
}

/**
 * Caps N at what the server's processes can hold: each at most its file limit (the hard
 * RLIMIT_NOFILE here; raising it needs CAP_SYS_RESOURCE), less room for its other descriptors
 * and for the kernel's uneven spread of connections over an instance's workers.
 */
export function connectionCap(requested: number, serverProcesses = 1): { n: number; note: string | null } {
  const limit = hardFileLimit();
  const cap = serverProcesses * socketsPerProcess(limit);
  if (requested <= cap) return { n: requested, note: null };
  return { n: cap, note: `requested ${requested} connections, capped to ${cap}: ${serverProcesses} server process${serverProcesses > 1 ? 'es' : ''} with a hard RLIMIT_NOFILE of ${limit} each (not raisable here without CAP_SYS_RESOURCE); run the gateway with more workers (--gateway-workers)` };
}

/** Sockets one server process is planned for under a file limit (the rest: its own files, the spread's unevenness). */
export function socketsPerProcess(fileLimit: number): number {
  return Math.floor(fileLimit * 0.85);
}

/** Least-squares slope of y over x (0 with fewer than two distinct x). */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}

/**
 * Memory per connection from the samples, and why it is not a measurement if it is not.
 * `bare`: the same ramp's samples on a bare uWS process (its malloc bytes in use per socket are
 * uWS's native part), when one ran.
 */
export function memoryFigures(samples: readonly MemorySample[], processes: number, bare?: readonly MemorySample[]): { figures: MemoryFigures; reasons: string[] } {
  const reasons: string[] = [];
  const over = (points: readonly MemorySample[], y: (s: MemorySample) => number): number => Math.round(slope(points.map((s) => [s.connections, y(s)] as const)));
  const heapKnown = samples.length > 0 && samples.every((s) => s.heap !== null);
  const rss = over(samples, (s) => s.rssTotalBytes);
  const rssLessHeapFree = heapKnown ? over(samples, (s) => s.rssTotalBytes - (s.heap!.committed - s.heap!.used)) : null;
  const heapUsed = heapKnown ? over(samples, (s) => s.heap!.used) : null;
  const external = heapKnown ? over(samples, (s) => s.heap!.external) : null;
  const bareKnown = bare !== undefined && bare.length >= 2 && bare.every((s) => s.heap !== null);
  // malloc's own count (RSS outside the JS heap where it is not reported): the bare process's
  // JS per socket, an empty object, is counted in the gateway's heap.
  const nativeSocket = bareKnown ? over(bare, (s) => s.heap!.mallocInUse ?? s.rssTotalBytes - s.heap!.committed) : null;
  const method = heapUsed !== null && nativeSocket !== null ? 'parts' : 'rss';
  const slabRead = samples.every((s) => Object.keys(s.slabBytes).length > 0);
  const perCache = slabRead ? Object.fromEntries(Object.keys(samples[0]?.slabBytes ?? {}).map((c) => [c, over(samples, (s) => s.slabBytes[c] ?? 0)])) : null;
  const sum = (names: readonly string[]): number | null => (perCache ? names.reduce((a, c) => a + (perCache[c] ?? 0), 0) : null);
  const socketCachesBothEnds = sum(SOCKET_CACHES);
  const serverEnd = socketCachesBothEnds === null ? null : Math.round(socketCachesBothEnds / 2);
  const buffersBothEnds = over(samples, (s) => s.tcpMemPages * 4096);
  const counts = (points: readonly MemorySample[]): string => points.map((s) => s.connections).join('/');
  if (samples.length < 2) reasons.push(`${samples.length} memory sample(s): a slope needs two connection counts or more`);
  let perConnection: number | null;
  if (method === 'parts') {
    // Live objects only grow with live connections: a heap that did not is no measurement.
    if (heapUsed! <= 0) reasons.push(`the servers' live JS heap did not grow with the connections (slope ${heapUsed} B/conn over ${counts(samples)})`);
    if (nativeSocket! <= 0) reasons.push(`the bare uWS process's memory did not grow with its sockets (slope ${nativeSocket} B/conn over ${counts(bare!)}): noise above the signal, no figure`);
    perConnection = heapUsed! + Math.max(0, external!) + nativeSocket!;
  } else {
    perConnection = rssLessHeapFree ?? rss;
    const what = rssLessHeapFree !== null ? "RSS less the JS heap's free space" : 'RSS';
    if (perConnection <= 0) reasons.push(`the servers' ${what} did not grow with the connections (slope ${perConnection} B/conn over ${counts(samples)}): noise above the signal at this size, no figure`);
  }
  if (socketCachesBothEnds !== null && socketCachesBothEnds <= 0) reasons.push(`the kernel's socket caches did not grow with the connections (slope ${socketCachesBothEnds} B/conn)`);
  const measured = reasons.length === 0 && serverEnd !== null;
  const serverTotalPerConnection = measured ? perConnection + serverEnd + Math.max(0, Math.round(buffersBothEnds / 2)) : null;
  return {
    reasons,
    figures: {
      samples: [...samples],
      server: { perConnection: reasons.length === 0 ? perConnection : null, method, heapUsed, external, nativeSocket, rssLessHeapFree, rss, processes },
      kernel: { perCache, socketCachesBothEnds, serverEnd, clientOnly: sum(CLIENT_ONLY_CACHES), meminfoSlab: over(samples, (s) => s.meminfoSlabBytes), buffersBothEnds },
      serverTotalPerConnection,
      bar: BYTES_PER_CONNECTION_BAR,
      verdict: serverTotalPerConnection === null ? 'NOT MEASURED' : serverTotalPerConnection <= BYTES_PER_CONNECTION_BAR ? 'PASS' : 'FAIL',
    },
  };
}

function meminfoSlabBytes(): number {
  try {
    return Number(/^Slab:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** The server's processes: the one the target names and its children (a gateway instance's workers). */
function serverProcesses(name: string, pid: number): Map<string, number> {
  return new Map([[name, pid], ...childPids(pid).map((p, i) => [`${name}-w${i}`, p] as [string, number])]);
}

/** The bare uWS process's port (`--bare-port`), beside Centrifugo's 18000. */
export const BARE_PORT = 18001;

interface RampOptions {
  steps: number;
  settleMs: number;
  heartbeatMs: number;
  concurrency?: number;
  connectTimeoutMs?: number;
}

/**
 * Ramps `clients` onto `target` in `opts.steps` equal steps over `pool`, and at each count (every
 * connection open and authenticated, the server's garbage collected where it offers a way, then
 * `settleMs` for the allocators to settle) samples the servers' RSS and heap, the kernel's socket
 * slab caches and sockstat.
 */
async function ramp(ctx: BenchContext, target: Target, pool: WorkerPool, clients: ClientSpec[], servers: () => Map<string, number>, opts: RampOptions): Promise<{ samples: MemorySample[]; replies: ConnectReply[]; connectSec: number }> {
  const requested = clients.length;
  const status = async (): Promise<{ open: number; authenticated: number }> => {
    const all = await pool.all({ op: 'status' as const });
    return { open: all.reduce((s, x) => s + x.open, 0), authenticated: all.reduce((s, x) => s + x.authenticated, 0) };
  };
  const sample = async (connections: number): Promise<MemorySample> => {
    // Measured once every connection is open and authenticated (or the wait gave up: invalid).
    const until = nowMs() + opts.heartbeatMs + 30_000;
    let s = await status();
    while (s.authenticated < s.open && nowMs() < until) {
      await sleep(500);
      s = await status();
    }
    target.collectGarbage?.();
    await sleep(opts.settleMs);
    s = await status();
    const rssBytes = Object.fromEntries([...servers()].map(([n, p]) => [n, sampleProc(p)?.rssBytes ?? 0]));
    const heap = target.heap ? await target.heap() : null;
    const slab = readSlabinfo();
    const slabBytes = slab ? Object.fromEntries([...SOCKET_CACHES, ...CLIENT_ONLY_CACHES].filter((c) => slab.has(c)).map((c) => [c, slab.get(c)!.bytes])) : {};
    return { connections, ...s, rssBytes, rssTotalBytes: Object.values(rssBytes).reduce((a, b) => a + b, 0), heap, slabBytes, meminfoSlabBytes: meminfoSlabBytes(), tcpMemPages: readSockstat()['TCP.mem'] ?? 0 };
  };
  const replies: ConnectReply[] = [];
  let connectSec = 0;
  const samples: MemorySample[] = [];
  const pid = target.serverPid();
  for (let k = 1; k <= opts.steps; k++) {
    const from = Math.round((requested * (k - 1)) / opts.steps);
    const to = Math.round((requested * k) / opts.steps);
    ctx.progress.start(`connections:${target.name} ramp to ${to}`, pool, { target: target.name, pid });
    const t0 = nowMs();
    replies.push(...(await connectReplies(pool, assign(clients.slice(from, to), pool.workers.length), { protocol: target.protocol, url: target.url, sourceAddresses: ctx.sourceAddresses, heartbeatMs: opts.heartbeatMs, concurrency: opts.concurrency ?? 64, timeoutMs: opts.connectTimeoutMs })));
    connectSec += (nowMs() - t0) / 1000;
    ctx.progress.stop();
    const s = await sample(to);
    samples.push(s);
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
    const heap = s.heap ? `, heap used ${mib(s.heap.used)}, external ${mib(s.heap.external)}${s.heap.mallocInUse !== undefined ? `, malloc in use ${mib(s.heap.mallocInUse)}` : ''}` : '';
    ctx.log(`[connections:${target.name}] ${to}: ${s.open} open, ${s.authenticated} authenticated; server RSS ${(s.rssTotalBytes / 2 ** 20).toFixed(0)} MiB over ${Object.keys(s.rssBytes).length} processes${heap}; socket slabs ${(SOCKET_CACHES.reduce((a, c) => a + (s.slabBytes[c] ?? 0), 0) / 2 ** 20).toFixed(0)} MiB`);
  }
  return { samples, replies, connectSec };
}

/**
 * The same ramp onto a bare uWS process (bench/uws-bare-server.ts): what uWS holds per socket
 * in native memory. Null when it could not run (a reason is logged; the figure is then RSS's).
 */
async function bareSocketSamples(ctx: BenchContext, requested: number, opts: RampOptions): Promise<MemorySample[] | null> {
  const port = intFlag(ctx.flags, 'bare-port', BARE_PORT);
  const proc = new ManagedProcess('uws-bare', process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/uws-bare-server.ts', String(port)], {});
  const pool = new WorkerPool(workersFor(requested));
  try {
    await waitHttp(`http://127.0.0.1:${port}/heap`, 30_000, proc);
    const bare: Target = {
      name: 'uws-bare',
      protocol: 'im',
      url: `ws://127.0.0.1:${port}/ws`,
      serverPid: () => proc.pid,
      // GET /heap collects, then answers; the sample reads RSS after `settleMs`.
      collectGarbage: () => void fetch(`http://127.0.0.1:${port}/heap`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined),
      heap: async () => {
        const m = (await (await fetch(`http://127.0.0.1:${port}/heap`, { signal: AbortSignal.timeout(5_000) })).json()) as NodeJS.MemoryUsage & { mallocInUse: number };
        return { committed: m.heapTotal, used: m.heapUsed, external: m.external, mallocInUse: m.mallocInUse };
      },
      clients: async (ids) => ids.map((userId) => ({ userId, token: 'bare' })),
      prepareGroup: async () => undefined,
      subscribeChannel: () => undefined,
    };
    // One process holds what its file limit allows (100,000 connections take six gateway
    // workers); what a socket costs does not depend on how many there are.
    const clients = await bare.clients(userIds('c-uws-bare-', Math.min(requested, socketsPerProcess(hardFileLimit()))));
    const { samples } = await ramp(ctx, bare, pool, clients, () => new Map([['uws-bare', proc.pid]]), opts);
    return samples.every((s) => s.open === s.connections) ? samples : null;
  } catch (err) {
    ctx.log(`[connections:uws-bare] not measured: ${(err as Error).message}`);
    return null;
  } finally {
    await pool.close();
    await proc.stop();
  }
}

/**
 * Ramps to N authenticated idle connections in `steps` equal steps, sampling memory at each
 * count (ramp). Memory per connection is the slope over those counts, so garbage not yet
 * collected or a heap grown in one go cannot make it negative or zero: a slope that is not
 * positive is no figure (the step is invalid). Then holds all of them for `holdSec` with
 * heartbeats. For the platform's gateway, the same ramp then runs onto a bare uWS process, for
 * uWS's native memory per socket (memoryFigures). Client and server are both on this machine:
 * the kernel holds both ends.
 */
export async function measureConnections(ctx: BenchContext, target: Target, requested: number, holdSec: number, heartbeatMs: number, o: { steps?: number; settleSec?: number; concurrency?: number; connectTimeoutMs?: number } = {}): Promise<ConnectionFigures> {
  const pid = target.serverPid();
  const opts: RampOptions = { steps: Math.max(2, o.steps ?? 4), settleMs: (o.settleSec ?? 5) * 1000, heartbeatMs, concurrency: o.concurrency, connectTimeoutMs: o.connectTimeoutMs };
  const ids = userIds(`c-${target.name}-`, requested);
  ctx.log(`[connections:${target.name}] minting ${requested} tokens`);
  const clients = await target.clients(ids);
  const pool = new WorkerPool(workersFor(requested));
  const servers = (): Map<string, number> => serverProcesses(`sut-${target.name}`, pid);
  const meter = new CpuMeter(() => new Map([...ctx.sut.pids(), ...pool.pids(), ...servers()]));
  let held: { figures: Omit<ConnectionFigures, 'memory' | 'rss' | 'validity'>; samples: MemorySample[]; rss0: number; reasons: string[] };
  try {
    await sleep(1000);
    const sockBefore = readSockstat();
    const rss0 = [...servers().values()].reduce((a, p) => a + (sampleProc(p)?.rssBytes ?? 0), 0);
    meter.begin();
    const { samples, replies, connectSec } = await ramp(ctx, target, pool, clients, servers, opts);
    const connect = summarizeConnects(replies, connectSec);
    ctx.progress.start(`connections:${target.name} hold`, pool, { target: target.name, pid });
    await sleep(holdSec * 1000);
    ctx.progress.stop();
    const cpu = meter.end();
    const statuses = await pool.all({ op: 'status' as const });
    const sockAfter = readSockstat();
    const open = statuses.reduce((s, x) => s + x.open, 0);
    const authenticatedAfterHold = statuses.reduce((s, x) => s + x.authenticated, 0);
    const closes: Record<string, number> = {};
    for (const s of statuses) for (const [k, v] of Object.entries(s.closes)) closes[k] = (closes[k] ?? 0) + v;
    const sent = statuses.reduce((s, x) => s + x.heartbeatsSent, 0);
    const answered = statuses.reduce((s, x) => s + x.heartbeatsAnswered, 0);
    const missed = statuses.reduce((s, x) => s + x.heartbeatsMissed, 0);
    const memDelta = (sockAfter['TCP.mem'] ?? 0) - (sockBefore['TCP.mem'] ?? 0);
    const base = connectionValidity(requested, connect.opened, open, connect.failures);
    const reasons = [...base.reasons];
    for (const s of samples)
      if (s.open < s.connections || s.authenticated < s.connections) reasons.push(`at the ${s.connections}-connection sample only ${s.open} open and ${s.authenticated} authenticated`);
    if (authenticatedAfterHold < requested) reasons.push(`after the hold only ${authenticatedAfterHold} of ${requested} connections authenticated`);
    held = {
      figures: {
        target: target.name,
        requested,
        connect,
        holdSec,
        openAfterHold: open,
        authenticatedAfterHold,
        unexpectedCloses: closes,
        // IM answers each client heartbeat; Centrifugo pings and counts our answers instead.
        // A heartbeat in flight when counted is no failure: 10,000 clients' heartbeats every 10 s
        // left about 400 unanswered at any moment, reported as failures until this counted misses.
        heartbeats: { sent, answered, failures: target.name === 'im' ? missed : 0 },
        sockstat: { before: sockBefore, after: sockAfter, tcpMemPagesDelta: memDelta, tcpMemBytesPerConnection: open > 0 ? Math.round((memDelta * 4096) / open) : 0 },
        cpu,
      },
      samples,
      rss0,
      reasons,
    };
  } finally {
    ctx.progress.stop();
    await pool.close();
  }
  // After the gateway's connections are closed: the machine holds one set of sockets at a time.
  const bare = target.name === 'im' && target.heap ? await bareSocketSamples(ctx, requested, opts) : null;
  const memory = memoryFigures(held.samples, servers().size, bare ?? undefined);
  const reasons = [...held.reasons, ...memory.reasons];
  return {
    ...held.figures,
    rss: { baselineBytes: held.rss0, loadedBytes: held.samples[held.samples.length - 1]?.rssTotalBytes ?? 0, perConnectionBytes: memory.figures.server.perConnection ?? 0 },
    memory: memory.figures,
    validity: { valid: reasons.length === 0, reasons, missingDeliveries: null },
  };
}

const kib = (b: number | null): string => (b === null ? 'n/a' : `${round(b / 1024)} KiB`);

/** One line per figure for the log and the notes. */
export function describeMemory(m: MemoryFigures): string {
  const k = m.kernel;
  const v = m.server;
  const caches = k.perCache ? Object.entries(k.perCache).map(([c, b]) => `${c} ${b} B`).join(', ') : 'slabinfo not readable';
  const counts = m.samples.map((s) => s.connections).join('/');
  const rss = `RSS less the JS heap's free space ${kib(v.rssLessHeapFree)}, RSS alone ${kib(v.rss)}`;
  const server =
    v.method === 'parts'
      ? `server ${kib(v.perConnection)}/conn by part (live JS heap ${kib(v.heapUsed)} + external ${kib(v.external)} + uWS native per socket ${kib(v.nativeSocket)} from a bare uWS process; cross-check ${rss}; slopes over ${counts}, ${v.processes} processes)`
      : `server ${kib(v.perConnection)}/conn (${v.rssLessHeapFree !== null ? rss : 'RSS'}, slope over ${counts}, ${v.processes} processes)`;
  return `${server}; kernel server end ${kib(k.serverEnd)}/conn (half of the socket caches, both ends ${kib(k.socketCachesBothEnds)}: ${caches}; client bind buckets ${kib(k.clientOnly)}; whole slab ${kib(k.meminfoSlab)}); TCP buffers ${kib(k.buffersBothEnds)}/conn both ends; server total ${kib(m.serverTotalPerConnection)}/conn vs bar ${kib(m.bar)}: ${m.verdict}`;
}

export async function connectionsScenario(ctx: BenchContext, target: Target): Promise<ScenarioOutput> {
  const workers = Number(ctx.sut.env.IM_GATEWAY_WORKERS ?? 1);
  const { n, note } = connectionCap(intFlag(ctx.flags, 'connections', 10_000), workers);
  const holdSec = intFlag(ctx.flags, 'hold-sec', 30);
  const heartbeatMs = intFlag(ctx.flags, 'heartbeat-ms', 10_000);
  const steps = intFlag(ctx.flags, 'memory-steps', 4);
  const settleSec = intFlag(ctx.flags, 'settle-sec', 5);
  // Handshakes in flight per generator process, and how long one may take: on a busy machine
  // fewer in flight wait less each.
  const concurrency = intFlag(ctx.flags, 'connect-concurrency', 64);
  const connectTimeoutMs = intFlag(ctx.flags, 'connect-timeout-ms', 30_000);
  const f = await measureConnections(ctx, target, n, holdSec, heartbeatMs, { steps, settleSec, concurrency, connectTimeoutMs });
  const bad = invalidLabel(f.validity);
  if (bad) ctx.log(`[connections] ${bad}`);
  ctx.log(`[connections] ${f.openAfterHold}/${n} open (${f.authenticatedAfterHold} authenticated) over ${workers} gateway worker(s), ${f.connect.ratePerSec} conn/s; ${describeMemory(f.memory)}`);
  return {
    scenario: 'connections',
    configuration: { connections: n, holdSec, heartbeatMs, steps, settleSec, concurrency, connectTimeoutMs, gatewayWorkers: workers, sourceAddresses: ctx.sourceAddresses.length },
    figures: { im: f },
    latencyCurves: [],
    notes: [...(note ? [note] : []), ...(bad ? [`connections ${bad}: per-connection figures are not a measurement`] : [`memory per connection: ${describeMemory(f.memory)}`])],
  };
}
