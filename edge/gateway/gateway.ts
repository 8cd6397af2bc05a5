import type { PlatformConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import type { TopicSerde } from '../../schemas/serde.js';
import type { LogClient, LogProducer } from '../../streams/index.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { PushBus } from '../delivery/push-bus.js';
import type { HttpRoute } from '../http/routes.js';
import type { PeopleHooks } from '../presence/people.js';
import type { Presence } from '../presence/presence.js';
import { createPresenceSync } from '../presence/sync.js';
import { CloseCodes, type ErrorCode } from '../../protocol/codes.js';
import type { ConnectedFrame, ReconnectFrame } from '../../protocol/frames.js';
import { AckTracker } from './acks.js';
import { DeliveredReceipts } from './delivered.js';
import { closeConn, Connections, presenceEntry, sendError, writeFrame, type CloseName, type Conn, type ConnData } from './connections.js';
import { ConversationTopics } from './conversation-topics.js';
import { deliver } from './delivery.js';
import { mountHttp } from './http.js';
import { Upstream } from './ingress.js';
import { handleMessage, type MessageContext } from './messages.js';
import { gatewayMetrics as m } from './metrics.js';
import { upgradeHandler, type Verdict } from './upgrade.js';
import type { WorkerRole } from './instance.js';
import { listenExclusive, listenShared, loadNativeUws, type us_listen_socket } from './uws.js';

export interface GatewayDeps {
  /** Where ingress frames and offline tasks are produced. */
  log: LogClient;
  serde: TopicSerde;
  presence: Presence;
  pushBus: PushBus;
  verifier: TokenVerifier;
  routes: readonly HttpRoute[];
  logger: Logger;
  /** Presence for people (online / away / last seen to friends); told of each connection's changes. */
  people?: PeopleHooks;
  /** What the process's dependencies say (Kafka, Redis answering); /readyz adds it. Default: fine. */
  dependencies?: () => { ready: boolean; failing: string[] };
  /**
   * Set when this gateway is one worker of an instance (instance.ts): it listens beside its
   * siblings on the instance's port, and /metrics answers for the whole instance.
   */
  worker?: Pick<WorkerRole, 'metrics'>;
}

export type GatewayConfig = PlatformConfig['edge'];

export interface Gateway {
  /** Listens (port 0 picks a free one) and joins presence and the push bus. */
  start(): Promise<{ port: number }>;
  /** Graceful: stop accepting, tell clients to reconnect, flush, leave presence. */
  stop(): Promise<void>;
  readonly connectionCount: number;
}

/** How long the device count may wait for presence before the gateway's own count decides. */
const DEVICE_CHECK_TIMEOUT_MS = 1_000;
/** Frames a client may send before its token is verified (it usually takes a millisecond). */
const MAX_EARLY_FRAMES = 64;

/** The reasons uWS gives when it drops a client that broke the WebSocket protocol. */
const CLIENT_FAULTS = new Set(['Received invalid UTF-8', 'Received too big message']);

/** Error code sent before closing a refused or evicted connection. */
const refusalCode: Partial<Record<CloseName, ErrorCode>> = {
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  TOKEN_INVALID: 'TOKEN_INVALID',
  ORIGIN_FORBIDDEN: 'ORIGIN_FORBIDDEN',
  TOO_MANY_DEVICES: 'TOO_MANY_DEVICES',
};

/**
 * The connection gateway: WebSockets at /ws, HTTP routes, health and metrics, in one
 * uWS app. Business-agnostic: it authenticates, limits, passes frames through to `im.ingress`
 * and writes pushes from its push-bus channel to local connections.
 */
export function createGateway(deps: GatewayDeps, config: GatewayConfig): Gateway {
  const uws = loadNativeUws();
  const { logger, presence, gatewayId } = { ...deps, gatewayId: config.gatewayId };
  const bound = config.maxBackpressureBytes;
  const conns = new Connections(config.userRatePerSec);
  const acks = new AckTracker(config.deliveryAckTimeoutMs);
  const delivered = new DeliveredReceipts({ intervalMs: config.deliveredReceiptIntervalMs, perConversationPerSec: config.deliveredReceiptsPerConversation });
  const boot = Date.now().toString(36);
  let seq = 0;
  let accepting = false;
  let stopping = false;
  let listenSocket: us_listen_socket | null = null;
  let producer: LogProducer | null = null;
  let upstream: Upstream | null = null;
  let unsubscribe: (() => Promise<void>) | null = null;
  const timers: NodeJS.Timeout[] = [];
  const app = uws.App();
  const warn = (what: string) => (err: unknown) => logger.warn(what, { err });
  // Group messages: one uWS topic per conversation, subscriptions following the memberships.
  const topics = new ConversationTopics({ app, conns, acks, routing: presence, gatewayId, bound, logger });
  // Presence is re-asserted from the open sockets: a Redis that lost it gets it back.
  const presenceSync = createPresenceSync({
    presence,
    gatewayId,
    logger,
    entries: () => conns.presenceEntries(gatewayId),
    conversations: () => topics.conversations(),
    isOpen: (id) => conns.get(id) !== undefined,
  });

  /** Connections upgraded while their token is being verified, by id. */
  const verifying = new Map<string, Conn>();

  /** Device policy, then the connection joins this gateway and presence; or it is refused. */
  const admit = (ws: Conn): void => {
    const d = ws.getUserData();
    if (!d.refused) {
      // Device policy: the same device reconnecting replaces its old connection; a new device
      // past the limit is refused, so sessions already open are never disturbed.
      for (const old of conns.ofUser(d.userId).filter((c) => c.getUserData().deviceId === d.deviceId)) closeConn(old, 'DEVICE_REPLACED');
      if (conns.ofUser(d.userId).length >= config.maxDevicesPerUser) d.refused = 'TOO_MANY_DEVICES';
    }
    if (d.refused) {
      const code = refusalCode[d.refused];
      if (code) sendError(ws, code, bound);
      closeConn(ws, d.refused);
      return;
    }
    conns.add(ws);
    m.connections.inc({ gateway: gatewayId });
    // Online, and its group conversations read back in the same step; ops for it wait meanwhile.
    const joined = presence.connect(presenceEntry(d, gatewayId));
    topics.admit(ws, joined);
    if (deps.people) joined.then(() => deps.people?.opened(d.userId, d.id), () => {});
    // From this frame on, messages reach the connection live: its presence entry is written.
    // Before it, a message may go to the user's other devices and the store only, so the
    // client syncs once it has it (docs/protocol.md). A presence that failed to answer still
    // admits: the gateway rebuilds its entries when the store is back.
    const connected = (): void => {
      if (d.closed) return;
      const frame: ConnectedFrame = { type: 'connected', connection_id: d.id, user_id: d.userId, timestamp: Date.now() };
      ws.cork(() => writeFrame(ws, JSON.stringify(frame), 'connected', bound));
    };
    joined.then(connected, connected);
  };

  const open = (ws: Conn): void => {
    const d = ws.getUserData();
    if (d.pending) verifying.set(d.id, ws);
    else admit(ws);
  };

  /** The token check of a connection upgraded before it: admit or refuse, then its early frames. */
  const onVerdict = (connectionId: string, v: Verdict): void => {
    const ws = verifying.get(connectionId);
    if (!ws) return; // closed meanwhile
    verifying.delete(connectionId);
    const d = ws.getUserData();
    const early = d.pending ?? [];
    d.pending = null;
    if (d.closed) return;
    if (v.token) Object.assign(d, { userId: v.token.userId, deviceId: v.token.deviceId, expiresAt: v.token.expiresAt });
    d.refused = v.refused;
    try {
      ws.cork(() => {
        admit(ws);
        if (ctx) for (const bytes of early) handleMessage(ctx, ws, bytes);
      });
    } catch (err) {
      logger.error('gateway admission failed', { err, connectionId });
    }
  };

  /**
   * The device limit over every gateway: the user's other devices in presence (shared through
   * Redis) and here. Read once the token is verified, before admission; a presence that does not
   * answer leaves the decision to the local count.
   */
  const checkDevices = (connectionId: string, v: Verdict): void => {
    if (!v.token) return onVerdict(connectionId, v);
    const { userId, deviceId } = v.token;
    // The connection's early frames wait for this verdict: a presence store that answers late
    // must not hold them (nor the client's first ack) for longer than DEVICE_CHECK_TIMEOUT_MS.
    let decided = false;
    const decide = (verdict: Verdict): void => {
      if (decided) return;
      decided = true;
      clearTimeout(timer);
      onVerdict(connectionId, verdict);
    };
    // Admission still checks this gateway's own count of the user's connections.
    const localCountDecides = (err: unknown): void => {
      logger.debug('device count unavailable; the local count decides', { err, connectionId });
      decide(v);
    };
    const timer = setTimeout(() => localCountDecides(new Error(`presence did not answer within ${DEVICE_CHECK_TIMEOUT_MS} ms`)), DEVICE_CHECK_TIMEOUT_MS);
    presence.lookup([userId]).then((found) => {
      const devices = new Set([...(found.get(userId) ?? []), ...conns.ofUser(userId).map((c) => c.getUserData())].map((e) => e.deviceId));
      devices.delete(deviceId);
      decide(devices.size >= config.maxDevicesPerUser ? { refused: 'TOO_MANY_DEVICES' } : v);
    }, localCountDecides);
  };

  /** A close the gateway did not ask for: counted by code, 1006 logged (at most one line a second). */
  let abnormalLogged = 0;
  let abnormalSuppressed = 0;
  const unrequestedClose = (d: ConnData, code: number, message: ArrayBuffer): void => {
    const text = Buffer.from(message).toString();
    m.unrequestedCloses.inc({ code: String(code), reason: code === 1006 ? text || 'none' : '' });
    if (code !== 1006) return;
    // uWS drops a client that broke the protocol (invalid UTF-8 in a text frame, a frame past
    // maxPayloadLength) without a close frame: the client's fault, counted above, not an anomaly.
    if (CLIENT_FAULTS.has(text)) return logger.debug('connection dropped for a protocol violation', { connectionId: d.id, userId: d.userId, reason: text });
    const now = Date.now();
    if (now - abnormalLogged < 1_000) {
      abnormalSuppressed++;
      return;
    }
    logger.warn('connection closed without a close frame (1006)', { connectionId: d.id, userId: d.userId, reason: text || null, openMs: now - d.connectedAt, verifying: d.pending !== null, alsoSinceLastLine: abnormalSuppressed });
    abnormalLogged = now;
    abnormalSuppressed = 0;
  };

  const close = (ws: Conn, code: number, message: ArrayBuffer): void => {
    const d = ws.getUserData();
    if (!d.closed) unrequestedClose(d, code, message);
    d.closed = true;
    if (d.pending) {
      verifying.delete(d.id);
      d.pending = null;
      return;
    }
    if (d.refused) return;
    conns.remove(ws);
    topics.drop(ws);
    m.connections.dec({ gateway: gatewayId });
    // At shutdown removeGateway drops all entries in one go.
    if (stopping) return;
    const leave = (): Promise<void> => presence.disconnect(d.userId, d.id);
    if (deps.people) void deps.people.closed(d.userId, d.id, leave);
    else leave().catch(warn('presence disconnect failed'));
  };

  /** An exception in a uWS callback would kill the process: log it, tell the client, go on. */
  const guard = <A extends unknown[]>(what: string, fn: (ws: Conn, ...args: A) => void) => (ws: Conn, ...args: A): void => {
    try {
      fn(ws, ...args);
    } catch (err) {
      logger.error(`gateway ${what} handler failed`, { err, connectionId: ws.getUserData().id });
      if (what === 'message') sendError(ws, 'INTERNAL_ERROR', bound);
    }
  };

  let ctx: MessageContext | null = null;
  app.ws<ConnData>('/ws', {
    maxPayloadLength: config.maxFrameBytes * 8, // beyond: uWS closes (1009); up to it: an error frame
    idleTimeout: 0, // our own heartbeat sweep, with the configured timings
    sendPingsAutomatically: false,
    maxBackpressure: bound * 2, // our bound check (writeFrame) acts first, with our close code
    compression: uws.DISABLED, // deflate contexts would cost far more than the 8 KB per connection
    upgrade: upgradeHandler({
      verifier: deps.verifier,
      logger,
      allowedOrigins: config.allowedOrigins,
      newConnectionId: () => `${gatewayId}:${boot}:${(++seq).toString(36)}`,
      accepting: () => accepting,
      onVerdict: checkDevices,
    }),
    open: guard('open', open),
    message: guard('message', (ws, bytes: ArrayBuffer) => {
      const early = ws.getUserData().pending;
      // uWS reuses the buffer after this callback: keep a copy until the token is verified.
      if (early) return void (early.length < MAX_EARLY_FRAMES ? early.push(bytes.slice(0)) : sendError(ws, 'SERVICE_UNAVAILABLE', bound, undefined, 'too many frames before the token was verified'));
      if (ctx) handleMessage(ctx, ws, bytes);
    }),
    pong: (ws) => {
      ws.getUserData().lastSeen = Date.now();
    },
    close: guard('close', close),
  });
  mountHttp(app, { routes: deps.routes, verifier: deps.verifier, logger, maxBodyBytes: config.maxHttpBodyBytes, staticDir: config.staticDir, metrics: deps.worker?.metrics, readiness: () => {
    const outside = deps.dependencies?.() ?? { ready: true, failing: [] };
    return { ready: accepting && !stopping && outside.ready, failing: outside.failing };
  } });

  /** Pings, silence and token expiry, for every connection once per tick. */
  let lastPing = 0;
  const sweep = (): void => {
    const now = Date.now();
    const ping = now - lastPing >= config.heartbeatIntervalMs;
    if (ping) lastPing = now;
    if (ping && deps.people) deps.people.alive([...conns.users()]);
    for (const ws of conns.all()) {
      const d = ws.getUserData();
      if (now - d.lastSeen > config.heartbeatTimeoutMs) closeConn(ws, 'HEARTBEAT_TIMEOUT');
      else if (d.expiresAt <= now) closeConn(ws, 'TOKEN_EXPIRED');
      else if (ping) ws.ping();
    }
  };
  const flushDelivered = (all = false): void => {
    if (!upstream || delivered.size === 0) return;
    for (const r of delivered.flush(Date.now(), all)) upstream.receipt(r);
  };
  const ackSweepMs = Math.max(10, Math.floor(config.deliveryAckTimeoutMs / 5));
  let lastAckSweep = Date.now();
  const expireAcks = (): void => {
    const now = Date.now();
    // A sweep this late means the loop was held (a 10,000-member group's setup held it 6 s in
    // the fanout bench): the acks of that time are unread yet, so they get the time back and the
    // sockets are read before the next sweep.
    const held = now - lastAckSweep - ackSweepMs;
    lastAckSweep = now;
    if (held > ackSweepMs) {
      acks.extend(held);
      logger.warn('event loop held; pending delivery acks given the time back', { heldMs: held, owed: acks.size });
      return;
    }
    const tasks = acks.expire(now);
    if (tasks.length === 0 || !upstream) return;
    m.ackTimeouts.inc(tasks.length);
    for (const t of tasks) upstream.offline(t);
  };

  return {
    get connectionCount() {
      return conns.size;
    },

    async start() {
      // A lone gateway listens first: a port held by another process must fail before anything
      // is joined. An instance's worker listens last: its primary has checked the port, and the
      // kernel hands a listening worker its share of the connections at once, which one still
      // joining refused with 503 (a restarted instance's second worker, in the faults bench).
      let socket = deps.worker ? null : await listenExclusive(app, config.host, config.port);
      listenSocket = socket;
      try {
        producer = await deps.log.producer();
        const up = new Upstream({
          producer,
          serde: deps.serde,
          logger,
          lingerMs: config.ingressLingerMs,
          batchMax: config.ingressBatchMax,
          onIngressFailed: (failed) => {
            for (const { frame, clientMsgId } of failed) {
              const ws = conns.get(frame.origin.connectionId);
              if (ws) ws.cork(() => sendError(ws, 'SERVICE_UNAVAILABLE', bound, clientMsgId));
            }
          },
        });
        upstream = up;
        ctx = { gatewayId, conns, acks, delivered, upstream: up, verifier: deps.verifier, logger, maxFrameBytes: config.maxFrameBytes, bound, people: deps.people };
        // Before any connection: supersedes what a killed predecessor with this id left behind.
        await presenceSync.run('start');
        unsubscribe = await deps.pushBus.subscribe(gatewayId, (push, trace) => deliver(push, conns, acks, up, bound, trace, topics));
        socket ??= await listenShared(app, config.host, config.port);
        listenSocket = socket;
      } catch (err) {
        if (socket) uws.us_listen_socket_close(socket);
        listenSocket = null;
        await unsubscribe?.().catch(warn('push bus unsubscribe failed'));
        unsubscribe = null;
        await producer?.close().catch(warn('producer close failed'));
        producer = null;
        throw err;
      }
      const port = uws.us_socket_local_port(socket);
      const tick = Math.max(10, Math.min(config.heartbeatIntervalMs, Math.floor(config.heartbeatTimeoutMs / 3)));
      timers.push(setInterval(sweep, tick));
      presenceSync.start(config.heartbeatIntervalMs);
      lastAckSweep = Date.now();
      timers.push(setInterval(expireAcks, ackSweepMs));
      timers.push(setInterval(() => flushDelivered(), config.deliveredReceiptIntervalMs));
      accepting = true;
      logger.info('gateway listening', { gatewayId, host: config.host, port });
      return { port };
    },

    async stop() {
      if (stopping) return;
      stopping = true;
      accepting = false;
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = null;
      for (const t of timers) clearInterval(t);
      await presenceSync.stop();
      await unsubscribe?.().catch(warn('push bus unsubscribe failed'));
      const hint: ReconnectFrame = { type: 'reconnect', reason: CloseCodes.GOING_AWAY.reason, retry_after_ms: 0, timestamp: Date.now() };
      for (const ws of [...verifying.values()]) ws.cork(() => closeConn(ws, 'GOING_AWAY'));
      for (const ws of [...conns.all()]) {
        // Spread reconnects over a second so the other gateways are not stampeded.
        hint.retry_after_ms = Math.floor(Math.random() * 1_000);
        ws.cork(() => {
          writeFrame(ws, JSON.stringify(hint), 'reconnect', bound);
          closeConn(ws, 'GOING_AWAY');
        });
      }
      // Unacked pushes will not be acked now: report them so they reach the user as notifications.
      for (const t of acks.expire(Date.now(), true)) upstream?.offline(t);
      flushDelivered(true);
      await upstream?.flush();
      await producer?.close();
      await presence.removeGateway(gatewayId).catch(warn('presence removeGateway failed'));
      logger.info('gateway stopped', { gatewayId });
    },
  };
}

/** Stops the gateway on SIGTERM/SIGINT, then exits; for the process that runs it. */
export function stopOnSignals(gateway: Gateway, logger: Logger): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info('signal received, stopping gateway', { signal });
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('graceful stop failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
