import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { gatewayVerifier, startAuth } from './setup.js';
import { callRoute, openTestDb } from './testing.js';

const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const testEnv = { IM_AUTH_SCRYPT_COST: '1024', IM_LOG_LEVEL: 'silent' };

describe('startAuth', () => {
  let mongo: Awaited<ReturnType<typeof openTestDb>>;
  beforeAll(async () => {
    mongo = await openTestDb('auth_setup');
  });
  afterAll(() => mongo.close());

  it('composes keys, MongoDB stores and routes from configuration', async () => {
    const config = loadConfig({ ...testEnv, IM_AUTH_PRIVATE_KEY_PEM: pem });
    const auth = await startAuth(config, { db: mongo.db, purgeIntervalMs: 0 });
    try {
      expect((await callRoute(auth.routes, 'POST', '/v1/auth/register', { username: 'zoe', password: 'password-123' })).status).toBe(201);
      const login = await callRoute(auth.routes, 'POST', '/v1/auth/login', { username: 'zoe', password: 'password-123' });
      const { access_token: token } = login.body as { access_token: string };
      expect(await auth.verifier.verify(token)).toMatchObject({ deviceId: expect.stringMatching(/^d-/) });
      const indexes = await mongo.db.collection('auth_users').indexes();
      expect(indexes.some((i) => i.name === 'username_key_unique' && i.unique)).toBe(true);
    } finally {
      auth.stop();
    }
  });

  it('runs on memory stores with an ephemeral key in development', async () => {
    const auth = await startAuth(loadConfig(testEnv), { db: null, purgeIntervalMs: 0 });
    expect((await callRoute(auth.routes, 'POST', '/v1/auth/register', { username: 'yan', password: 'password-123' })).status).toBe(201);
    auth.stop();
  });

  it('refuses production without MongoDB', async () => {
    const config = loadConfig({
      ...testEnv, IM_MODE: 'production', IM_ENGINE: 'kafka', IM_AUTH_ISSUER: 'im', IM_GATEWAY_ID: 'gw-1', IM_AUTH_PRIVATE_KEY_PEM: pem,
      IM_AUTH_SCRYPT_COST: '32768',
    });
    await expect(startAuth(config, { db: null })).rejects.toBeInstanceOf(ConfigError);
  });

  it('refuses a test-grade scrypt cost in production', () => {
    expect(() => loadConfig({
      IM_MODE: 'production', IM_ENGINE: 'kafka', IM_AUTH_ISSUER: 'im', IM_GATEWAY_ID: 'gw-1', IM_AUTH_PRIVATE_KEY_PEM: pem, IM_AUTH_SCRYPT_COST: '1024',
    })).toThrow(/IM_AUTH_SCRYPT_COST/);
  });
});

describe('gatewayVerifier', () => {
  it('needs a JWKS URL when auth runs elsewhere', () => {
    expect(() => gatewayVerifier(loadConfig({}), null)).toThrow(ConfigError);
  });

  it('uses the remote JWKS when IM_AUTH_JWKS_URL is set, even beside a local service', async () => {
    const config = loadConfig({ ...testEnv, IM_AUTH_JWKS_URL: 'http://127.0.0.1:1/.well-known/jwks.json' });
    const auth = await startAuth(config, { db: null, purgeIntervalMs: 0 });
    await callRoute(auth.routes, 'POST', '/v1/auth/register', { username: 'xia', password: 'password-123' });
    const login = await callRoute(auth.routes, 'POST', '/v1/auth/login', { username: 'xia', password: 'password-123' });
    const { access_token: token } = login.body as { access_token: string };
    // The unreachable key set proves which verifier answered: the local one would accept.
    await expect(auth.verifier.verify(token)).rejects.toMatchObject({ code: 'TOKEN_INVALID', retriable: true });
    await expect(auth.service.verifier.verify(token)).resolves.toMatchObject({ deviceId: expect.any(String) });
    auth.stop();
  });
});
