import { generateKeyPairSync, createHmac } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, platformProcess, type PlatformProcess } from '../../e2e/chaos-processes.js';
import { createGroup, sendMsg, startPlatform, type Platform, type User } from '../../e2e/harness.js';
import { redisAnswers, startPrivateRedis } from '../../e2e/private-redis.js';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../connectors/redis/client.js';
import { loadConfig } from '../../core/config.js';
import { eventually } from '../../streams/testing.js';
import { TestClient } from '../gateway/testing.js';
import { CloseCodes } from '../../protocol/codes.js';
import { directConversationId } from '../../domain/conversations.js';
import { issueAccessToken } from './access-token.js';
import { generateKeys, loadKeys, type AuthKeys } from './keys.js';

/**
 * The edge's security promises, through its real doors (WebSocket upgrade, in-band token
 * refresh, HTTP): forged, foreign, expired and tampered access tokens are refused with their
 * documented codes; one user cannot read another's history, membership or receipts; login
 * throttling and the device limit hold across two gateway processes sharing one Redis.
 * Already tested elsewhere and not repeated here: each token fault at the verifier itself
 * (verifier-local.test.ts), refresh rotation and reuse revoking the family (service.test.ts).
 */
const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('access tokens at the doors of a gateway', () => {
  let p: Platform;
  let keys: AuthKeys;
  let user: User;
  beforeAll(async () => {
    p = await startPlatform('memory', { IM_AUTH_PRIVATE_KEY_PEM: pem });
    keys = await loadKeys({ privateKeyPem: pem, mode: 'development' });
    user = await p.user('holder');
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
  });

  /** Tokens that must not open anything, each with the code it must get. */
  async function forgeries(): Promise<[string, string, 'TOKEN_INVALID' | 'TOKEN_EXPIRED'][]> {
    const { issuer, audience, accessTtlSec, clockToleranceSec } = p.config.auth;
    const claims = { userId: user.id, deviceId: 'forged' };
    const policy = { issuer, audience, ttlSec: accessTtlSec };
    const issue = (k: AuthKeys, over: Partial<typeof policy & { now: number }> = {}) => issueAccessToken(k, claims, { ...policy, ...over }).then((t) => t.token);
    const other = await generateKeys('EdDSA');
    const valid = await issue(keys);
    const [head, body, sig] = valid.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const hmacHead = b64({ alg: 'HS256', typ: 'at+jwt', kid: keys.kid });
    return [
      ['alg none', `${b64({ alg: 'none', typ: 'at+jwt', kid: keys.kid })}.${body}.`, 'TOKEN_INVALID'],
      ['HS256 keyed with the public key', `${hmacHead}.${body}.${createHmac('sha256', JSON.stringify(keys.jwks.keys[0])).update(`${hmacHead}.${body}`).digest('base64url')}`, 'TOKEN_INVALID'],
      ['another key', await issue(other), 'TOKEN_INVALID'],
      ['another key under our kid', await issue({ ...other, kid: keys.kid }), 'TOKEN_INVALID'],
      ['wrong issuer', await issue(keys, { issuer: 'someone-else' }), 'TOKEN_INVALID'],
      ['wrong audience', await issue(keys, { audience: 'another-app' }), 'TOKEN_INVALID'],
      ['tampered payload', `${head}.${b64({ ...payload, sub: 'admin' })}.${sig}`, 'TOKEN_INVALID'],
      ['tampered expiry', `${head}.${b64({ ...payload, exp: Number(payload.exp) + 86_400 })}.${sig}`, 'TOKEN_INVALID'],
      ['garbage', '{"$gt":""}', 'TOKEN_INVALID'],
      ['expired', await issue(keys, { now: Date.now() - (accessTtlSec + clockToleranceSec + 60) * 1000 }), 'TOKEN_EXPIRED'],
    ];
  }

  it('refuses each at the upgrade (query and subprotocol) with an error frame and its close code, and over HTTP with 401', async () => {
    for (const [what, token, code] of await forgeries()) {
      const closeCode = CloseCodes[code].code;
      for (const c of [await TestClient.connect(`${p.wsUrl}?token=${encodeURIComponent(token)}`), await TestClient.connect(p.wsUrl, { protocols: ['im.v1', `bearer.${token}`] }).catch(() => null)]) {
        // A token that is no valid subprotocol token (e.g. with '{') cannot even be offered that way.
        if (!c) continue;
        c.send({ type: 'send_msg', msg_id: 'sneaky', recipient: 'bob', content: 'before the verdict', timestamp: 1 });
        expect(await c.nextOfType('error'), what).toMatchObject({ error_code: code });
        expect((await c.waitClosed()).code, what).toBe(closeCode);
        expect(c.frames, what).toEqual([]);
      }
      const res = await fetch(`${p.baseUrl}/v1/conversations`, { headers: { authorization: `Bearer ${token}` } });
      expect([res.status, ((await res.json()) as { error_code: string }).error_code], what).toEqual([401, code === 'TOKEN_EXPIRED' ? 'TOKEN_EXPIRED' : 'UNAUTHORIZED']);
    }
  });

  it('refuses each as an in-band token_refresh with TOKEN_INVALID and its msg_id, and the connection goes on', async () => {
    const c = await user.connect();
    for (const [what, token] of await forgeries()) {
      c.send({ type: 'token_refresh', token, msg_id: `refresh-${what}` });
      expect(await c.next((f) => f.type === 'error' || f.type === 'token_refreshed'), what).toMatchObject({ type: 'error', error_code: 'TOKEN_INVALID', msg_id: `refresh-${what}` });
    }
    c.send({ type: 'heartbeat' });
    expect(await c.nextOfType('heartbeat')).toBeTruthy();
    expect(c.closed).toBeNull();
  });

  it('answers a malformed refresh token 401 REFRESH_INVALID, and logging it out changes nothing', async () => {
    for (const token of ['short', 'x'.repeat(44), '{"$gt":""}', '../../etc/passwd'.padEnd(43, 'a')]) {
      const refresh = await p.http('POST', '/v1/auth/refresh', { body: { refresh_token: token } });
      expect([refresh.status, refresh.body.error_code], token).toEqual([401, 'REFRESH_INVALID']);
      expect((await p.http('POST', '/v1/auth/logout', { body: { refresh_token: token } })).body).toEqual({ logged_out: true });
    }
    const missing = await p.http('POST', '/v1/auth/refresh', { body: { refresh_token: { $gt: '' } } });
    expect([missing.status, missing.body.error_code]).toEqual([400, 'BAD_REQUEST']);
  });
});

describe("another user's conversations", () => {
  let p: Platform;
  beforeAll(async () => {
    p = await startPlatform('memory', { IM_REQUIRE_FRIENDSHIP: 'false' });
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
  });

  it("refuses an outsider a direct conversation's history and receipts, over HTTP and WebSocket", async () => {
    const [ann, ben, cat] = [await p.user('ann'), await p.user('ben'), await p.user('cat')];
    const [a, c] = [await ann.connect(), await cat.connect()];
    a.send(sendMsg(ben.id, 'private', 'user', 'private-1'));
    const ack = await a.next((f) => f.type === 'ack' && f.msg_id === 'private-1', 20_000);
    const conversation = directConversationId(ann.id, ben.id);
    expect(ack.conversation_id).toBe(conversation);

    const history = await p.http('GET', `/v1/conversations/${conversation}/messages`, { token: cat.token });
    expect([history.status, history.body.error_code]).toEqual([403, 'FORBIDDEN']);
    expect(JSON.stringify((await p.http('GET', '/v1/conversations', { token: cat.token })).body)).not.toContain('private');

    c.send({ type: 'sync', conversation_id: conversation, after_seq: 0, msg_id: 'peek' });
    expect(await c.next((f) => f.type === 'error' || f.type === 'sync_result', 20_000)).toMatchObject({ type: 'error', error_code: 'FORBIDDEN', msg_id: 'peek' });
    c.send({ type: 'read', conversation_id: conversation, seq: 1, msg_id: 'fake-read' });
    expect(await c.next((f) => f.type === 'error', 20_000)).toMatchObject({ error_code: 'FORBIDDEN', msg_id: 'fake-read' });
    // The parties themselves still read it, once the writer has stored it (an ack says accepted, not stored).
    const ownHistory = async () => (await p.http<{ messages: { content: string }[] }>('GET', `/v1/conversations/${conversation}/messages`, { token: ann.token })).body.messages;
    await eventually(async () => (await ownHistory()).length > 0, 'the message stored', 20_000);
    expect((await ownHistory()).map((m) => m.content)).toEqual(['private']);
  });

  it("refuses an outsider a group's details, history, receipts and membership changes, over HTTP and WebSocket", async () => {
    const [owner, member, cat] = [await p.user('owner'), await p.user('member'), await p.user('cat')];
    const groupId = await createGroup(p, owner, [member]);
    const conversation = `g:${groupId}`;
    const o = await owner.connect();
    o.send(sendMsg(groupId, 'members only', 'group', 'group-1'));
    await o.next((f) => f.type === 'ack' && f.msg_id === 'group-1', 20_000);
    const c = await cat.connect();

    const details = await p.http('GET', `/v1/groups/${groupId}`, { token: cat.token });
    expect([details.status, details.body.error_code]).toEqual([404, 'NOT_FOUND']);
    expect((await p.http('GET', '/v1/groups', { token: cat.token })).body).toEqual({ groups: [] });
    const history = await p.http('GET', `/v1/conversations/${conversation}/messages`, { token: cat.token });
    expect([history.status, history.body.error_code]).toEqual([403, 'NOT_A_MEMBER']);

    c.send({ type: 'sync', conversation_id: conversation, msg_id: 'peek' });
    expect(await c.next((f) => f.type === 'error' || f.type === 'sync_result', 20_000)).toMatchObject({ type: 'error', error_code: 'NOT_A_MEMBER', msg_id: 'peek' });
    c.send({ type: 'read', conversation_id: conversation, seq: 1, msg_id: 'fake-read' });
    expect(await c.next((f) => f.type === 'error', 20_000)).toMatchObject({ error_code: 'NOT_A_MEMBER', msg_id: 'fake-read' });

    // Membership changes by an outsider are accepted for decision, then refused in their inbox.
    const join = await p.http<{ command_id: string }>('POST', `/v1/groups/${groupId}/members`, { token: cat.token, body: { user_ids: [cat.id] } });
    expect(join.status).toBe(202);
    const rejected = await c.next((f) => f.type === 'message' && f.content_type === 'system/command_rejected', 20_000);
    expect(JSON.parse(String(rejected.content))).toMatchObject({ command_id: join.body.command_id, error_code: 'NOT_A_MEMBER' });
    const members = await p.http<{ members: { user_id: string }[] }>('GET', `/v1/groups/${groupId}`, { token: owner.token });
    expect(members.body.members.map((m) => m.user_id).sort()).toEqual([owner.id, member.id].sort());
  });
});

describe('limits shared by two gateway processes through Redis', () => {
  let redis: ChildProcess | undefined;
  let gateways: PlatformProcess[] = [];
  let redisClient: Redis | undefined;
  let keys: AuthKeys;
  beforeAll(async () => {
    const redisPort = await freePort();
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    redis = startPrivateRedis(redisPort);
    await eventually(() => redisAnswers(redisUrl), 'private Redis up', 10_000);
    redisClient = await connectRedis(redisUrl, 'security-test');
    keys = await loadKeys({ privateKeyPem: pem, mode: 'development' });
    const logDir = await mkdtemp(join(tmpdir(), 'security-gateways-'));
    gateways = await Promise.all(['a', 'b'].map(async (name) => {
      const port = await freePort();
      return platformProcess({
        name: `gateway-${name}`,
        script: 'gateway',
        readyPort: port,
        logDir,
        env: { IM_ENGINE: 'memory', IM_REDIS_URL: redisUrl, IM_EDGE_PORT: String(port), IM_GATEWAY_ID: `gw-security-${name}`, IM_AUTH_PRIVATE_KEY_PEM: pem, IM_AUTH_SCRYPT_COST: '1024', IM_MAX_DEVICES_PER_USER: '2', IM_AUTH_LOGIN_MAX_FAILURES_PER_USER: '3', IM_LOG_LEVEL: 'warn' },
      });
    }));
    for (const g of gateways) g.start();
    await Promise.all(gateways.map((g) => g.waitReady(60_000)));
  }, 90_000);
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.kill()));
    redisClient?.disconnect();
    redis?.kill('SIGKILL');
  });

  const base = (g: PlatformProcess): string => g.readyUrl.replace('/readyz', '');
  const login = (g: PlatformProcess, username: string) =>
    fetch(`${base(g)}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'not the password' }) });

  it('throttles failed logins of a username on every gateway, wherever the failures happened', async () => {
    const [a, b] = gateways as [PlatformProcess, PlatformProcess];
    const username = `victim_${Date.now().toString(36)}`;
    for (let i = 0; i < 3; i++) expect((await login(a, username)).status).toBe(401);
    for (const g of [b, a]) {
      const res = await login(g, username);
      expect([res.status, ((await res.json()) as { error_code: string }).error_code]).toEqual([429, 'TOO_MANY_REQUESTS']);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Another username is not affected.
    expect((await login(b, `${username}_other`)).status).toBe(401);
  });

  it('limits the devices of a user over both gateways', async () => {
    const [a, b] = gateways as [PlatformProcess, PlatformProcess];
    const userId = `user-${Date.now().toString(36)}`;
    const wsUrl = (g: PlatformProcess) => base(g).replace('http', 'ws') + '/ws';
    const { issuer, audience } = loadConfig({}).auth;
    /** A device's connection and the first answer to its heartbeat: admitted, or refused with an error frame. */
    const connect = async (g: PlatformProcess, deviceId: string): Promise<{ c: TestClient; first: string }> => {
      const { token } = await issueAccessToken(keys, { userId, deviceId }, { issuer, audience, ttlSec: 300 });
      const c = await TestClient.connect(`${wsUrl(g)}?token=${token}`);
      c.send({ type: 'heartbeat' });
      const f = await c.next((x) => x.type === 'heartbeat' || x.type === 'error');
      return { c, first: f.type === 'error' ? String(f.error_code) : f.type };
    };
    const phone = await connect(a, 'phone');
    const laptop = await connect(a, 'laptop');
    expect([phone.first, laptop.first]).toEqual(['heartbeat', 'heartbeat']);
    // Admitted is not yet written: gateway b reads presence, so wait for both entries there.
    await eventually(async () => (await redisClient!.hlen(`im:presence:u:${userId}`)) === 2, 'both devices in presence', 10_000);
    const tablet = await connect(b, 'tablet');
    expect(tablet.first).toBe('TOO_MANY_DEVICES');
    expect((await tablet.c.waitClosed()).code).toBe(CloseCodes.TOO_MANY_DEVICES.code);
    // The same device again, on the other gateway, is no new device.
    const phoneAgain = await connect(b, 'phone');
    expect(phoneAgain.first).toBe('heartbeat');
    // Once a device leaves, a new one gets in anywhere.
    laptop.c.close();
    await laptop.c.waitClosed();
    await eventually(async () => {
      const { c, first } = await connect(b, 'tablet');
      c.close();
      return first === 'heartbeat';
    }, 'a new device admitted once one left', 10_000);
    expect([phone.c.closed, phoneAgain.c.closed]).toEqual([null, null]);
  });
});
