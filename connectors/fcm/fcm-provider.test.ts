import { exportPKCS8, generateKeyPair, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryDeviceTokenStore } from '../offline-push/device-tokens.js';
import { withResilience } from '../offline-push/resilient-provider.js';
import { createPushRouter } from '../offline-push/router.js';
import { startH2Server, type TestH2Server } from '../offline-push/testing.js';
import { createFcmProvider } from './fcm-provider.js';

const resilience = { rateLimit: { ratePerSec: 1000, burst: 100 }, breakerFailureThreshold: 5, breakerOpenMs: 60_000, retries: 3, retryInitialMs: 5, retryMaxMs: 50 };
const fcmError = (code: number, status: string, errorCode: string) => ({
  error: { code, status, message: errorCode, details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] },
});

describe('FCM HTTP v1 provider against a local HTTP/2 server', () => {
  let server: TestH2Server | undefined;
  afterEach(async () => server?.close());

  it('gets one OAuth token from a signed service-account grant, sends, removes UNREGISTERED, retries 503/429', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    let origin = '';
    let exchanges = 0;
    const attempts = new Map<string, number>();
    server = await startH2Server(async (req) => {
      if (req.path === '/token') {
        const form = new URLSearchParams(req.body);
        expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
        const { payload } = await jwtVerify(form.get('assertion')!, publicKey, { issuer: 'push@proj.iam.gserviceaccount.com', audience: `${origin}/token`, algorithms: ['RS256'] });
        expect(payload.scope).toBe('https://www.googleapis.com/auth/firebase.messaging');
        exchanges++;
        return { status: 200, body: { access_token: `ya29.token-${exchanges}`, expires_in: 3599, token_type: 'Bearer' } };
      }
      if (req.path !== '/v1/projects/proj/messages:send') return { status: 404, body: {} };
      if (req.headers.authorization !== 'Bearer ya29.token-1') return { status: 401, body: fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR') };
      const { message } = JSON.parse(req.body) as { message: { token: string } };
      const n = (attempts.get(message.token) ?? 0) + 1;
      attempts.set(message.token, n);
      if (message.token === 'dead') return { status: 404, body: fcmError(404, 'NOT_FOUND', 'UNREGISTERED') };
      if (message.token === 'flaky' && n === 1) return { status: 503, body: fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE'), headers: { 'retry-after': '0' } };
      if (message.token === 'flaky' && n === 2) return { status: 429, body: fcmError(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED') };
      return { status: 200, body: { name: `projects/proj/messages/${n}` } };
    });
    origin = server.origin;
    const fcm = createFcmProvider(
      {
        endpoint: server.origin,
        requestTimeoutMs: 2_000,
        serviceAccount: { client_email: 'push@proj.iam.gserviceaccount.com', private_key: await exportPKCS8(privateKey), token_uri: `${server.origin}/token`, project_id: 'proj' },
      },
      { tls: { ca: server.ca } },
    );
    const tokens = createMemoryDeviceTokenStore();
    for (const token of ['good', 'dead', 'flaky']) await tokens.register({ userId: 'bob', platform: 'fcm', token });
    const router = createPushRouter({ providers: { fcm: withResilience(fcm, resilience) }, tokens });
    const result = await router.notify('bob', { title: 'alice', body: 'hi', data: { conversation_id: 'd:alice:bob', seq: '7' }, threadId: 'd:alice:bob' });
    expect(result).toEqual({ sent: 2, removed: 1, failed: 0 });
    expect((await tokens.tokensOf('bob')).map((t) => t.token).sort()).toEqual(['flaky', 'good']);
    expect(exchanges).toBe(1);
    expect(attempts.get('flaky')).toBe(3);
    const sent = server.requests.find((r) => r.path.endsWith(':send') && JSON.parse(r.body).message.token === 'good')!;
    expect(JSON.parse(sent.body).message).toMatchObject({ token: 'good', notification: { title: 'alice', body: 'hi' }, data: { conversation_id: 'd:alice:bob', seq: '7' } });
    await router.close();
  });

  it('renews the access token when FCM answers 401', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    let exchanges = 0;
    server = await startH2Server((req) => {
      if (req.path === '/token') return { status: 200, body: { access_token: `t${++exchanges}`, expires_in: 3600 } };
      return req.headers.authorization === 'Bearer t2' ? { status: 200, body: { name: 'ok' } } : { status: 401, body: fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR') };
    });
    const fcm = withResilience(
      createFcmProvider({ endpoint: server.origin, requestTimeoutMs: 2_000, serviceAccount: { client_email: 'e', private_key: await exportPKCS8(privateKey), token_uri: `${server.origin}/token`, project_id: 'p' } }, { tls: { ca: server.ca } }),
      resilience,
    );
    expect(await fcm.send('tok', { title: 't', body: 'b', data: {} })).toBe('sent');
    expect(exchanges).toBe(2);
    await fcm.close();
  });
});
