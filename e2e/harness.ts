import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { loadConfig, type PlatformConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { TestClient, type Frame } from '../edge/gateway/testing.js';
import { createGateway } from '../edge/gateway/gateway.js';
import { connectInfrastructure, startEdge, startPeoplePresence, startPipeline, type Infrastructure } from '../ops/platform.js';
import type { TopicName, TopicValues } from '../schemas/types.generated.js';
import { deleteNamespace } from '../streams/index.js';
import { collect, eventually } from '../streams/testing.js';

/**
 * The whole platform in this test process, as `make run` starts it: on the in-memory engine,
 * or on the real stack (Kafka, registry, Redis, MongoDB) under a fresh topic namespace and
 * database, so runs never see each other. Clients talk to it only over HTTP and WebSocket.
 */
export type Engine = 'memory' | 'kafka';
export const ENGINES: Engine[] = ['memory', 'kafka'];

export interface Platform {
  config: PlatformConfig;
  infra: Infrastructure;
  baseUrl: string;
  wsUrl: string;
  http<T = Record<string, unknown>>(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<{ status: number; body: T }>;
  user(name: string): Promise<User>;
  /** One more gateway on the same infrastructure (its own id and port), as a second gateway process would be. */
  anotherGateway(): Promise<{ wsUrl: string; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export interface User {
  id: string;
  name: string;
  token: string;
  /** A WebSocket connection that acks every `message` frame it gets, as a client must (to `wsUrl`, the platform's gateway by default). */
  connect(device?: string, wsUrl?: string): Promise<TestClient>;
}

export async function startPlatform(engine: Engine, env: Record<string, string> = {}): Promise<Platform> {
  const id = randomUUID().slice(0, 8);
  const real: Record<string, string> = engine === 'kafka'
    ? {
        IM_ENGINE: 'kafka',
        IM_TOPIC_PREFIX: `e2e-${id}.`,
        IM_REDIS_URL: process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379',
        IM_MONGO_URL: process.env.IM_MONGO_URL_TEST ?? 'mongodb://127.0.0.1:27017',
        IM_MONGO_DB: `e2e_${id}`,
        IM_S3_ENDPOINT: process.env.IM_S3_ENDPOINT_TEST ?? 'http://127.0.0.1:8333',
      }
    : {};
  const config = loadConfig({
    ...process.env,
    IM_EDGE_PORT: '0',
    IM_GATEWAY_ID: `gw-e2e-${id}`,
    IM_AUTH_SCRYPT_COST: '1024',
    IM_LOG_LEVEL: process.env.IM_LOG_LEVEL ?? 'warn',
    IM_RUNTIME_RETRY_INITIAL_MS: '20',
    ...real,
    ...env,
  });
  const logger = createLogger('e2e');
  const infra = await connectInfrastructure(config, logger);
  const pipeline = await startPipeline(infra, logger);
  const edge = await startEdge(infra, logger);
  const baseUrl = `http://127.0.0.1:${edge.port}`;
  const wsUrl = `ws://127.0.0.1:${edge.port}/ws`;

  const http: Platform['http'] = async (method, path, options = {}) => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as never };
  };

  const clients: TestClient[] = [];
  const user = async (name: string): Promise<User> => {
    // Unique per call, not only per platform: a name is never taken by an earlier attempt.
    const username = `${name}_${id}_${randomUUID().slice(0, 6)}`;
    const reg = await http('POST', '/v1/auth/register', { body: { username, password: 'correct horse battery' } });
    if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${JSON.stringify(reg.body)}`);
    const login = await http<{ access_token: string; user_id: string }>('POST', '/v1/auth/login', { body: { username, password: 'correct horse battery' } });
    if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${JSON.stringify(login.body)}`);
    const token = login.body.access_token;
    return {
      id: login.body.user_id,
      name,
      token,
      connect: async (device = 'web', url = wsUrl) => {
        const loginDevice = await http<{ access_token: string }>('POST', '/v1/auth/login', { body: { username, password: 'correct horse battery', device_id: device } });
        if (loginDevice.status !== 200) throw new Error(`login ${username} on ${device}: ${loginDevice.status} ${JSON.stringify(loginDevice.body)}`);
        const client = await TestClient.connect(`${url}?token=${loginDevice.body.access_token}`);
        client.ws.on('message', (data) => {
          const f = JSON.parse(String(data)) as Frame;
          if (f.type === 'message') client.send({ type: 'ack', msg_id: f.msg_id });
        });
        clients.push(client);
        // Live delivery starts at `connected`, as a client of docs/protocol.md waits for it.
        await client.next((f) => f.type === 'connected', 20_000);
        return client;
      },
    };
  };

  const extraGateways: { stop(): Promise<void> }[] = [];
  const anotherGateway: Platform['anotherGateway'] = async () => {
    const edgeConfig = { ...config.edge, gatewayId: `${config.edge.gatewayId}-${extraGateways.length + 2}`, port: 0 };
    // Its own presence for people, as another process would have: they coalesce through Redis.
    const people = startPeoplePresence(infra, edge.auth.users, logger);
    const gateway = createGateway({ log: infra.log, serde: infra.serde, presence: infra.presence, pushBus: infra.pushBus, verifier: edge.auth.verifier, routes: [], logger, people }, edgeConfig);
    const { port } = await gateway.start();
    const stop = async (): Promise<void> => {
      await gateway.stop();
      await people.close();
    };
    extraGateways.push({ stop });
    return { wsUrl: `ws://127.0.0.1:${port}/ws`, stop };
  };

  return {
    config, infra, baseUrl, wsUrl, http, user, anotherGateway,
    stop: async () => {
      for (const c of clients) c.close();
      for (const g of extraGateways) await g.stop();
      await edge.stop();
      await pipeline.stop();
      if (infra.db) await infra.db.dropDatabase().catch(() => {});
      if (config.engine === 'kafka') await deleteNamespace(infra.log, config.kafka.topicPrefix).catch(() => {});
      await infra.close();
    },
  };
}

/** a asks, b accepts; resolves once the friendship is visible through the query API. */
export async function befriend(p: Platform, a: User, b: User): Promise<void> {
  const req = await p.http('POST', '/v1/friends/requests', { token: a.token, body: { user_id: b.id } });
  if (req.status !== 202) throw new Error(`friend request: ${req.status} ${JSON.stringify(req.body)}`);
  await eventually(async () => (await p.http('POST', `/v1/friends/requests/${a.id}/accept`, { token: b.token })).status === 202, 'accept accepted');
  await eventually(async () => JSON.stringify((await p.http('GET', '/v1/friends', { token: a.token })).body).includes(b.id), 'friendship visible', 20_000);
}

/** Creates a group owned by `owner`; resolves once every member is visible. */
export async function createGroup(p: Platform, owner: User, members: User[]): Promise<string> {
  const res = await p.http<{ group_id: string }>('POST', '/v1/groups', { token: owner.token, body: { name: 'team', members: members.map((m) => m.id) } });
  if (res.status !== 202) throw new Error(`create group: ${res.status} ${JSON.stringify(res.body)}`);
  const groupId = res.body.group_id;
  await eventually(async () => {
    const g = await p.http<{ members?: unknown[] }>('GET', `/v1/groups/${groupId}`, { token: owner.token });
    return g.status === 200 && (g.body.members?.length ?? 0) === members.length + 1;
  }, 'group members visible', 20_000);
  return groupId;
}

/** Every record of a topic so far, decoded, read through the platform's own log. */
export async function topicRecords<T extends TopicName>(p: Platform, topic: T): Promise<TopicValues[T][]> {
  const ends = await p.infra.log.endOffsets(topic);
  const target = [...ends.values()].reduce((a, b) => a + Number(b), 0);
  const reader = await collect(p.infra, topic);
  await eventually(() => reader.records.length + reader.tombstones >= target, `reading ${topic}`);
  await reader.stop();
  return reader.records.map((r) => r.value);
}

let counter = 0;
export const sendMsg = (recipient: string, content: string, recipientType: 'user' | 'group' = 'user', msgId = `m-${Date.now()}-${counter++}`) => ({
  type: 'send_msg', msg_id: msgId, recipient, recipient_type: recipientType, content, timestamp: Date.now(),
});

/** Sends a frame that carries a `msg_id` and waits for its answer: the `ack` or `error` with that id. */
export async function answer(c: TestClient, frame: { msg_id: string } & Record<string, unknown>, timeoutMs = 20_000): Promise<Frame> {
  c.send(frame);
  return c.next((f) => (f.type === 'ack' || f.type === 'error') && f.msg_id === frame.msg_id, timeoutMs);
}

/**
 * `tests` once per engine, in a describe block named "<title> on the <engine> engine" with its own
 * platform, started before its tests and stopped after them; `platform()` is the running one.
 */
export function onEachEngine(title: string, tests: (platform: () => Platform) => void, env: Record<string, string> = {}): void {
  for (const engine of ENGINES) {
    describe(`${title} on the ${engine} engine`, () => {
      let p: Platform | undefined;
      beforeAll(async () => {
        p = await startPlatform(engine, env);
      }, 120_000);
      afterAll(async () => {
        await p?.stop();
      });
      tests(() => p!);
    });
  }
}

/** A new group of new users: `owner` creates it with `members`; resolves once every member is visible. */
export async function newGroup<const M extends readonly string[]>(p: Platform, owner: string, members: M): Promise<{ owner: User; members: { -readonly [K in keyof M]: User }; groupId: string; conversation: string }> {
  const o = await p.user(owner);
  const ms: User[] = [];
  for (const name of members) ms.push(await p.user(name));
  const groupId = await createGroup(p, o, ms);
  // One user per name, in order: the tuple type says so.
  return { owner: o, members: ms as { -readonly [K in keyof M]: User }, groupId, conversation: `g:${groupId}` };
}
