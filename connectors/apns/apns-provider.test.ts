import { exportPKCS8, generateKeyPair, jwtVerify, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryDeviceTokenStore } from '../offline-push/device-tokens.js';
import { withResilience } from '../offline-push/resilient-provider.js';
import { createPushRouter } from '../offline-push/router.js';
import { startH2Server, type TestH2Server } from '../offline-push/testing.js';
import { createApnsProvider } from './apns-provider.js';

const resilience = { rateLimit: { ratePerSec: 1000, burst: 100 }, breakerFailureThreshold: 5, breakerOpenMs: 60_000, retries: 3, retryInitialMs: 5, retryMaxMs: 20 };

describe('APNs provider against a local HTTP/2 server', () => {
  let server: TestH2Server | undefined;
  afterEach(async () => server?.close());

  it('sends with a cached ES256 bearer token, removes a 410 token, retries 503 and 429', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const attempts = new Map<string, number>();
    server = await startH2Server(async (req) => {
      const token = req.path.split('/').pop()!;
      const n = (attempts.get(token) ?? 0) + 1;
      attempts.set(token, n);
      const jwt = String(req.headers.authorization).replace(/^bearer /, '');
      await jwtVerify(jwt, publicKey, { issuer: 'TEAM123456', algorithms: ['ES256'] });
      if (req.headers['apns-topic'] !== 'com.example.im') return { status: 400, body: { reason: 'BadTopic' } };
      if (token === 'dead') return { status: 410, body: { reason: 'Unregistered', timestamp: 1 } };
      if (token === 'flaky' && n === 1) return { status: 503, body: { reason: 'ServiceUnavailable' } };
      if (token === 'flaky' && n === 2) return { status: 429, body: { reason: 'TooManyRequests' } };
      return { status: 200, headers: { 'apns-id': 'x' } };
    });
    let now = 1_700_000_000_000;
    const apns = createApnsProvider(
      { endpoint: server.origin, bundleId: 'com.example.im', keyPem: await exportPKCS8(privateKey), keyId: 'KEYID12345', teamId: 'TEAM123456', refreshAfterMs: 50 * 60_000, requestTimeoutMs: 2_000 },
      { tls: { ca: server.ca }, now: () => now },
    );
    const tokens = createMemoryDeviceTokenStore();
    for (const token of ['good', 'dead', 'flaky']) await tokens.register({ userId: 'bob', platform: 'apns', token });
    await tokens.register({ userId: 'bob', platform: 'fcm', token: 'android-without-provider' });
    const router = createPushRouter({ providers: { apns: withResilience(apns, resilience) }, tokens });
    const result = await router.notify('bob', { title: 'alice', body: 'hi bob', data: { conversation_id: 'd:alice:bob', seq: '3' }, threadId: 'd:alice:bob' });
    expect(result).toEqual({ sent: 2, removed: 1, failed: 0 });
    expect((await tokens.tokensOf('bob')).map((t) => t.token).sort()).toEqual(['android-without-provider', 'flaky', 'good']);
    expect(attempts.get('flaky')).toBe(3);

    const good = server.requests.find((r) => r.path === '/3/device/good')!;
    expect(good.method).toBe('POST');
    expect(good.headers['apns-push-type']).toBe('alert');
    expect(JSON.parse(good.body)).toEqual({ aps: { alert: { title: 'alice', body: 'hi bob' }, sound: 'default', 'thread-id': 'd:alice:bob' }, conversation_id: 'd:alice:bob', seq: '3' });
    const jwts = new Set(server.requests.map((r) => r.headers.authorization));
    expect(jwts.size).toBe(1);
    expect(decodeProtectedHeader(String([...jwts][0]).slice(7))).toEqual({ alg: 'ES256', kid: 'KEYID12345' });

    now += 51 * 60_000; // past the refresh age: a new token
    await apns.send('good', { title: 't', body: 'b', data: {} });
    expect(new Set(server.requests.map((r) => r.headers.authorization)).size).toBe(2);
    await router.close();
  });

  it('opens the circuit after repeated 503s and then fails fast without calling APNs', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    server = await startH2Server(() => ({ status: 503, body: { reason: 'ServiceUnavailable' } }));
    const apns = withResilience(
      createApnsProvider({ endpoint: server.origin, bundleId: 'b', keyPem: await exportPKCS8(privateKey), keyId: 'k', teamId: 't', refreshAfterMs: 3_000_000, requestTimeoutMs: 2_000 }, { tls: { ca: server.ca } }),
      { ...resilience, retries: 1, breakerFailureThreshold: 4 },
    );
    await expect(apns.send('a', { title: 't', body: 'b', data: {} })).rejects.toMatchObject({ code: 'PUSH_VENDOR_ERROR', status: 503 });
    await expect(apns.send('b', { title: 't', body: 'b', data: {} })).rejects.toMatchObject({ code: 'PUSH_VENDOR_ERROR' });
    const calls = server.requests.length;
    expect(calls).toBe(4);
    await expect(apns.send('c', { title: 't', body: 'b', data: {} })).rejects.toMatchObject({ code: 'PUSH_CIRCUIT_OPEN' });
    expect(server.requests.length).toBe(calls);
    await apns.close();
  });

  it('paces requests with the per-vendor token bucket', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    server = await startH2Server(() => ({ status: 200 }));
    const apns = withResilience(
      createApnsProvider({ endpoint: server.origin, bundleId: 'b', keyPem: await exportPKCS8(privateKey), keyId: 'k', teamId: 't', refreshAfterMs: 3_000_000, requestTimeoutMs: 2_000 }, { tls: { ca: server.ca } }),
      { ...resilience, rateLimit: { ratePerSec: 20, burst: 1 } },
    );
    const started = Date.now();
    await Promise.all(Array.from({ length: 6 }, (_, i) => apns.send(`t${i}`, { title: 't', body: 'b', data: {} })));
    expect(Date.now() - started).toBeGreaterThanOrEqual(230);
    expect(server.requests).toHaveLength(6);
    await apns.close();
  });
});
