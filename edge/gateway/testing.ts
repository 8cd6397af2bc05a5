import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, errors } from 'jose';
import WebSocket from 'ws';
import { loadConfig } from '../../core/config.js';
import { PlatformError } from '../../core/errors.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { createLogger } from '../../core/logger.js';
import type { IngressFrame, OfflinePushTask, ReceiptCommand, TopicName } from '../../schemas/types.generated.js';
import { collect, memoryEngine, type Collected, type EngineHarness } from '../../streams/testing.js';
import type { PushBus } from '../delivery/push-bus.js';
import { createMemoryPushBus } from '../delivery/push-bus-memory.js';
import type { HttpRoute } from '../http/routes.js';
import type { Presence } from '../presence/presence.js';
import { createMemoryPresence } from '../presence/presence-memory.js';
import { createGateway, type Gateway, type GatewayConfig, type GatewayDeps } from './gateway.js';

/**
 * Test support for the gateway: a small jose verifier on a generated key (the auth service's
 * real one lives in edge/auth), a WebSocket client that queues frames for assertions, and a
 * config with short timings.
 */
export interface TestAuth {
  verifier: TokenVerifier;
  sign(userId: string, deviceId: string, ttlSec?: number): Promise<string>;
  /** The public key as a JWK, for a process that verifies the same tokens. */
  publicJwk: Record<string, unknown>;
}

export async function testAuth(): Promise<TestAuth> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = (await exportJWK(publicKey)) as Record<string, unknown>;
  return {
    publicJwk,
    verifier: jwkVerifier(publicKey),
    sign: (userId, deviceId, ttlSec = 300) =>
      new SignJWT({ did: deviceId })
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSec)
        .sign(privateKey),
  };
}

export function jwkVerifier(key: CryptoKey | Uint8Array): TokenVerifier {
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['ES256'] });
        if (typeof payload.sub !== 'string' || typeof payload.did !== 'string') throw new PlatformError('TOKEN_INVALID', 'no sub/did');
        return { userId: payload.sub, deviceId: payload.did, expiresAt: (payload.exp ?? 0) * 1000 };
      } catch (err) {
        if (err instanceof errors.JWTExpired) throw new PlatformError('TOKEN_EXPIRED', 'expired');
        throw err instanceof PlatformError ? err : new PlatformError('TOKEN_INVALID', 'invalid', { cause: err });
      }
    },
  };
}

export function testGatewayConfig(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  const edge = loadConfig({}).edge;
  return { ...edge, port: 0, gatewayId: `gw-test-${Math.random().toString(36).slice(2, 8)}`, ingressLingerMs: 1, ...overrides };
}

export interface Frame {
  type: string;
  [k: string]: unknown;
}

/** A real WebSocket client that queues every text frame it receives. */
export class TestClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.wake();
    });
  }

  static async connect(url: string, opts: { protocols?: string[]; origin?: string; autoPong?: boolean } = {}): Promise<TestClient> {
    const ws = new WebSocket(url, opts.protocols ?? [], { origin: opts.origin, autoPong: opts.autoPong ?? true });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** The first queued frame matching, removed from the queue; fails after `timeoutMs`. */
  async next(match: (f: Frame) => boolean = () => true, timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(match);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no matching frame within ${timeoutMs} ms; have ${JSON.stringify(this.frames).slice(0, 500)}`);
      await this.wait(deadline - Date.now());
    }
  }

  nextOfType(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.type === type, timeoutMs);
  }

  async waitClosed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`still open after ${timeoutMs} ms`);
      await this.wait(deadline - Date.now());
    }
    return this.closed;
  }

  close(): void {
    if (!this.closed) this.ws.close();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(1, ms));
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export interface GatewayHarness {
  gateway: Gateway;
  port: number;
  config: GatewayConfig;
  auth: TestAuth;
  engine: EngineHarness;
  presence: Presence;
  pushBus: PushBus;
  ingress: Collected<IngressFrame>;
  offline: Collected<OfflinePushTask>;
  receipts: Collected<ReceiptCommand>;
  /** Opens a client as user/device with a fresh token (query parameter); resolves once it is admitted or refused. */
  /**
   * A connection of `userId`, returned once admitted and in presence (`connected`); with
   * `untilAdmitted`, once admitted only (a test holding the presence write back).
   */
  client(userId: string, deviceId: string, opts?: { autoPong?: boolean; origin?: string; untilAdmitted?: boolean }): Promise<TestClient>;
  url(query?: string): string;
  close(): Promise<void>;
}

/** What a gateway produces: client frames, offline tasks (ack timeouts), DELIVERED receipts. */
export const GATEWAY_TOPICS = ['im.ingress', 'im.push.offline', 'im.cmd.receipt'] as const satisfies TopicName[];

/** A started gateway on the given engine, presence and push bus (memory ones by default). */
export async function startTestGateway(options: {
  config?: Partial<GatewayConfig>;
  engine?: EngineHarness;
  presence?: Presence;
  pushBus?: PushBus;
  routes?: HttpRoute[];
  /** Wraps the test verifier (e.g. to hold verifications back). */
  verifier?: (v: TokenVerifier) => TokenVerifier;
  /** As one worker of an instance: the port shared, checked by the primary (instance.ts). */
  worker?: GatewayDeps['worker'];
} = {}): Promise<GatewayHarness> {
  const config = testGatewayConfig(options.config);
  // A caller that brings its engine creates the topics (once, however many gateways share it).
  const engine = options.engine ?? (await memoryEngine());
  if (!options.engine) await engine.createTopics(GATEWAY_TOPICS);
  const presence = options.presence ?? createMemoryPresence({ ttlMs: config.heartbeatTimeoutMs });
  const pushBus = options.pushBus ?? createMemoryPushBus();
  const auth = await testAuth();
  const gateway = createGateway(
    { log: engine.log, serde: engine.serde, presence, pushBus, verifier: options.verifier ? options.verifier(auth.verifier) : auth.verifier, routes: options.routes ?? [], logger: createLogger('gateway-test'), worker: options.worker },
    config,
  );
  const { port } = await gateway.start();
  const ingress = await collect(engine, 'im.ingress');
  const offline = await collect(engine, 'im.push.offline');
  const receipts = await collect(engine, 'im.cmd.receipt');
  const clients: TestClient[] = [];
  const url = (query = ''): string => `ws://127.0.0.1:${port}/ws${query ? `?${query}` : ''}`;
  return {
    gateway,
    port,
    config,
    auth,
    engine,
    presence,
    pushBus,
    ingress,
    offline,
    receipts,
    url,
    async client(userId, deviceId, opts = {}) {
      const c = await TestClient.connect(url(`token=${await auth.sign(userId, deviceId)}`), opts);
      clients.push(c);
      // The socket opens before its token is verified: `connected` comes once it is admitted
      // and in presence (live from then on), a heartbeat is answered once it is admitted (frames
      // sent before are handled then); a refused one gets an error and is closed instead.
      if (opts.untilAdmitted) c.send({ type: 'heartbeat' });
      const ready = opts.untilAdmitted ? 'heartbeat' : 'connected';
      await c.next((f) => f.type === ready || f.type === 'error').then(
        (f) => (f.type === 'error' ? c.frames.unshift(f) : undefined),
        async (err: unknown) => {
          if (!c.closed) throw err;
        },
      );
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await gateway.stop();
      await ingress.stop();
      await offline.stop();
      await receipts.stop();
      await presence.close();
      await pushBus.close();
      await engine.close();
    },
  };
}

const uwsPath = createRequire(import.meta.url).resolve('uWebSockets.js');

/**
 * Another process listening the way uWS does by default (SO_REUSEPORT): an unrelated copy of
 * the platform. Port 0 picks one; resolves with the port it holds (the caller kills `child`).
 */
export async function foreignUwsListener(port = 0): Promise<{ port: number; child: ChildProcess }> {
  const code = `const u=require(${JSON.stringify(uwsPath)});u.App().listen('127.0.0.1',${port},(s)=>{process.stdout.write(String(s?u.us_socket_local_port(s):-1)+'\\n')});`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (c) => reject(new Error(`listener exited ${c}`)));
  });
  return { port: Number(line), child };
}
