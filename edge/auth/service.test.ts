import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpRoute } from '../http/routes.js';
import { generateKeys } from './keys.js';
import { createMemoryRefreshStore } from './refresh-store-memory.js';
import { createMongoRefreshStore } from './refresh-store-mongo.js';
import type { RefreshTokenStore } from './refresh-store.js';
import { authRoutes } from './routes.js';
import { createAuthService, type AuthService, type AuthServiceConfig } from './service.js';
import { callRoute, openTestDb } from './testing.js';
import { hashRefreshToken } from './tokens.js';
import { createMemoryUserStore } from './user-store-memory.js';
import { createMongoUserStore } from './user-store-mongo.js';
import type { UserStore } from './user-store.js';

const config: AuthServiceConfig = {
  issuer: 'im-test', audience: 'im-test-clients', accessTtlSec: 60, refreshTtlSec: 3600,
  scryptCost: 1024, clockToleranceSec: 0,
  loginMaxFailuresPerUser: 3, loginMaxFailuresPerAddress: 6, loginWindowSec: 60,
};

interface Stores { users: UserStore; refreshTokens: RefreshTokenStore }
interface Backend { name: string; setup(): Promise<void>; make(run: number): Promise<Stores>; teardown(): Promise<void> }

const memory: Backend = {
  name: 'memory',
  setup: async () => {},
  make: async () => ({ users: createMemoryUserStore(), refreshTokens: createMemoryRefreshStore() }),
  teardown: async () => {},
};

let mongoClose: (() => Promise<void>) | null = null;
let mongoDb: Awaited<ReturnType<typeof openTestDb>>['db'] | null = null;
const mongo: Backend = {
  name: 'mongo',
  setup: async () => {
    const t = await openTestDb('auth');
    mongoDb = t.db;
    mongoClose = t.close;
  },
  // Fresh collections per test, inside the run's one database.
  make: async (run) => {
    if (!mongoDb) throw new Error('MongoDB not connected');
    const users = createMongoUserStore(mongoDb, { collection: `users_${run}` });
    const refreshTokens = createMongoRefreshStore(mongoDb, { prefix: `refresh_${run}` });
    await users.ensureIndexes();
    await refreshTokens.ensureIndexes();
    return { users, refreshTokens };
  },
  teardown: async () => {
    await mongoClose?.();
  },
};

describe.each([memory, mongo])('auth service on $name stores', (backend) => {
  let clock = Date.parse('2030-01-01T00:00:00Z');
  let run = 0;
  let service: AuthService;
  let routes: HttpRoute[];
  let stores: Stores;

  beforeAll(() => backend.setup());
  afterAll(() => backend.teardown());
  beforeEach(async () => {
    stores = await backend.make(++run);
    service = createAuthService({ ...stores, keys: await generateKeys(), now: () => clock }, config);
    routes = authRoutes(service);
  });

  const register = (username: string, password = 'password-123', extra: object = {}) =>
    callRoute(routes, 'POST', '/v1/auth/register', { username, password, ...extra });
  const login = (username: string, password = 'password-123', address = '192.0.2.1', extra: object = {}) =>
    callRoute(routes, 'POST', '/v1/auth/login', { username, password, ...extra }, address);
  const refresh = (token: string) => callRoute(routes, 'POST', '/v1/auth/refresh', { refresh_token: token });
  const logout = (token: string) => callRoute(routes, 'POST', '/v1/auth/logout', { refresh_token: token });
  type Pair = { access_token: string; refresh_token: string; user_id: string; device_id: string; expires_in: number; token_type: string };
  const pairOf = (body: unknown) => body as Pair;

  it('registers, logs in and issues tokens the verifier accepts', async () => {
    const reg = await register('alice', 'password-123', { display_name: 'Alice A.' });
    expect(reg.status).toBe(201);
    const userId = (reg.body as { user_id: string }).user_id;
    expect(userId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await stores.users.findById(userId))?.displayName).toBe('Alice A.');

    const res = await login('alice', 'password-123', '192.0.2.1', { device_id: 'phone-1' });
    expect(res.status).toBe(200);
    expect(res.headers?.['cache-control']).toBe('no-store');
    const pair = pairOf(res.body);
    expect(pair).toMatchObject({ user_id: userId, device_id: 'phone-1', token_type: 'Bearer', expires_in: 60 });
    expect(pair.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const verified = await service.verifier.verify(pair.access_token);
    expect(verified).toEqual({ userId, deviceId: 'phone-1', expiresAt: clock + 60_000 });
  });

  it('stores only the hash of a refresh token', async () => {
    await register('hashy');
    const pair = pairOf((await login('hashy')).body);
    expect(await stores.refreshTokens.find(pair.refresh_token)).toBeNull();
    expect(await stores.refreshTokens.find(hashRefreshToken(pair.refresh_token))).toMatchObject({ userId: pair.user_id, usedAt: null });
  });

  it('refuses a duplicate username, case-insensitively, with 409 USERNAME_TAKEN', async () => {
    expect((await register('bob')).status).toBe(201);
    for (const name of ['bob', 'BOB']) {
      const res = await register(name, 'another-pass');
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ error_code: 'USERNAME_TAKEN' });
    }
  });

  it('lets exactly one of concurrent registrations of one name win', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => register('racer')));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it('validates bodies with 400 BAD_REQUEST', async () => {
    const cases: unknown[] = [
      null, [], 'text', { password: 'password-123' }, { username: 'ab', password: 'password-123' },
      { username: 'x'.repeat(33), password: 'password-123' }, { username: 'bad name', password: 'password-123' },
      { username: 'carol', password: 'short' }, { username: 'carol', password: 'p'.repeat(129) },
      { username: 'carol', password: 'password-123', display_name: 42 },
    ];
    for (const body of cases) {
      const res = await callRoute(routes, 'POST', '/v1/auth/register', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toMatchObject({ error_code: 'BAD_REQUEST' });
    }
    const dev = await login('carol', 'password-123', '192.0.2.1', { device_id: 'has space' });
    expect(dev.status).toBe(400);
    expect((await callRoute(routes, 'POST', '/v1/auth/refresh', {})).status).toBe(400);
  });

  it('answers a wrong password and an unknown user alike: 401 INVALID_CREDENTIALS', async () => {
    await register('dave');
    const wrong = await login('dave', 'wrong-password');
    const unknown = await login('nobody', 'password-123');
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error_code: 'INVALID_CREDENTIALS', error_message: 'Username or password is wrong' });
    }
  });

  it('rotates refresh tokens within the family', async () => {
    await register('erin');
    const first = pairOf((await login('erin', 'password-123', '192.0.2.1', { device_id: 'tab' })).body);
    const res = await refresh(first.refresh_token);
    expect(res.status).toBe(200);
    const second = pairOf(res.body);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.device_id).toBe('tab');
    expect((await service.verifier.verify(second.access_token)).userId).toBe(first.user_id);
    const third = await refresh(second.refresh_token);
    expect(third.status).toBe(200);
  });

  it('detects reuse: the rotated token revokes its family, the newer token dies too, other families live', async () => {
    await register('frank');
    const stolen = pairOf((await login('frank')).body);
    const otherDevice = pairOf((await login('frank')).body);
    const rotated = pairOf((await refresh(stolen.refresh_token)).body);

    const reuse = await refresh(stolen.refresh_token);
    expect(reuse.status).toBe(401);
    expect(reuse.body).toMatchObject({ error_code: 'REFRESH_REUSED' });

    const newer = await refresh(rotated.refresh_token);
    expect(newer.status).toBe(401);
    expect(newer.body).toMatchObject({ error_code: 'REFRESH_INVALID' });

    expect((await refresh(otherDevice.refresh_token)).status).toBe(200);
  });

  it('treats concurrent exchanges of one token as reuse: one spend wins, the family ends revoked', async () => {
    await register('gina');
    const pair = pairOf((await login('gina')).body);
    const results = await Promise.all(Array.from({ length: 8 }, () => refresh(pair.refresh_token)));
    const codes = results.map((r) => (r.body as { error_code?: string }).error_code ?? 'ok');
    // Exactly one racer spent the token; the seven others are reuses. The winner may still be
    // refused if a loser revoked the family before it read it: both outcomes are safe.
    expect(codes.filter((c) => c === 'REFRESH_REUSED')).toHaveLength(7);
    const winner = results.find((r) => r.status === 200);
    if (winner) expect((await refresh(pairOf(winner.body).refresh_token)).status).toBe(401);
    else expect(codes).toContain('REFRESH_INVALID');
  });

  it('logout revokes the family; logging out an unknown token is harmless', async () => {
    await register('hank');
    const pair = pairOf((await login('hank')).body);
    const rotated = pairOf((await refresh(pair.refresh_token)).body);
    expect((await logout(rotated.refresh_token)).body).toEqual({ logged_out: true });
    const after = await refresh(rotated.refresh_token);
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ error_code: 'REFRESH_INVALID' });
    expect((await logout('x'.repeat(43))).status).toBe(200);
  });

  it('refuses an unknown or expired refresh token, and purges expired ones', async () => {
    expect((await refresh('y'.repeat(43))).body).toMatchObject({ error_code: 'REFRESH_INVALID' });
    await register('ivy');
    const pair = pairOf((await login('ivy')).body);
    clock += 3600_000;
    expect((await refresh(pair.refresh_token)).body).toMatchObject({ error_code: 'REFRESH_INVALID' });
    expect(await service.purgeExpired()).toBe(1);
  });

  it('throttles failed logins per username with 429 and Retry-After, then lets the window slide', async () => {
    await register('jack');
    for (let i = 0; i < 3; i++) expect((await login('jack', 'wrong-password', `198.51.100.${i}`)).status).toBe(401);
    const blocked = await login('jack', 'password-123', '198.51.100.99');
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatchObject({ error_code: 'TOO_MANY_REQUESTS' });
    expect(blocked.headers?.['retry-after']).toBe('60');
    clock += 30_000;
    expect((await login('jack', 'password-123')).headers?.['retry-after']).toBe('30');
    clock += 30_000;
    expect((await login('jack', 'password-123')).status).toBe(200);
  });

  it('throttles failed logins per address across usernames', async () => {
    await register('kate');
    for (let i = 0; i < 6; i++) await login(`ghost${i}`, 'password-123', '203.0.113.7');
    expect((await login('kate', 'password-123', '203.0.113.7')).status).toBe(429);
    expect((await login('kate', 'password-123', '203.0.113.8')).status).toBe(200);
  });

  it('rehashes a password at login when the scrypt cost was raised', async () => {
    const reg = await register('lena');
    const userId = (reg.body as { user_id: string }).user_id;
    expect((await stores.users.findById(userId))?.passwordHash).toMatch(/^scrypt\$1024\$/);
    const stronger = createAuthService({ ...stores, keys: await generateKeys(), now: () => clock }, { ...config, scryptCost: 2048 });
    await stronger.login({ username: 'lena', password: 'password-123', remoteAddress: '192.0.2.1' });
    expect((await stores.users.findById(userId))?.passwordHash).toMatch(/^scrypt\$2048\$/);
    expect((await login('lena')).status).toBe(200);
  });

  it('serves the public JWKS without private members', async () => {
    const res = await callRoute(routes, 'GET', '/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const { keys } = res.body as { keys: Record<string, unknown>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
  });
});
