import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlatformError } from '../../core/errors.js';
import { issueAccessToken } from './access-token.js';
import { generateKeys, type AuthKeys, type Jwks } from './keys.js';
import { createJwksVerifier } from './verifier-jwks.js';

const policy = { issuer: 'im-test', audience: 'im-clients', clockToleranceSec: 5 };
const issue = (keys: AuthKeys, audience = policy.audience) =>
  issueAccessToken(keys, { userId: 'u-1', deviceId: 'dev-1' }, { ...policy, audience, ttlSec: 60 }).then((t) => t.token);

/** A stand-in for the auth service's JWKS endpoint that counts how often it is fetched. */
let served: Jwks = { keys: [] };
let fetches = 0;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('JWKS verifier', () => {
  let keys: AuthKeys;
  beforeEach(async () => {
    keys = await generateKeys();
    served = keys.jwks;
    fetches = 0;
  });

  it('fetches the key set once and verifies many tokens without another request', async () => {
    const verifier = createJwksVerifier(url, policy);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issue(keys)));
    for (const token of tokens) expect(await verifier.verify(token)).toMatchObject({ userId: 'u-1', deviceId: 'dev-1' });
    // Concurrent first use shares the one in-flight fetch too.
    await Promise.all(tokens.map((t) => verifier.verify(t)));
    expect(fetches).toBe(1);
  });

  it('refetches once for the unknown kid of a rotated key, and not for every forged kid', async () => {
    const verifier = createJwksVerifier(url, { ...policy, cooldownMs: 0 });
    await verifier.verify(await issue(keys));
    expect(fetches).toBe(1);

    const next = await generateKeys();
    served = { keys: [...keys.jwks.keys, ...next.jwks.keys] };
    expect(await verifier.verify(await issue(next))).toMatchObject({ userId: 'u-1' });
    expect(fetches).toBe(2);
    await verifier.verify(await issue(next));
    await verifier.verify(await issue(keys));
    expect(fetches).toBe(2);
  });

  it('rate-limits refetches for unknown kids by the cooldown', async () => {
    const verifier = createJwksVerifier(url, { ...policy, cooldownMs: 60_000 });
    await verifier.verify(await issue(keys));
    const stranger = await generateKeys();
    for (let i = 0; i < 5; i++) await expect(verifier.verify(await issue(stranger))).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    expect(fetches).toBe(1);
  });

  it('applies the same claim checks as the local verifier', async () => {
    const verifier = createJwksVerifier(url, policy);
    await expect(verifier.verify(await issue(keys, 'someone-else'))).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    const [h, b, s] = (await issue(keys)).split('.') as [string, string, string];
    await expect(verifier.verify(`${h}.${b.slice(0, -2)}AA.${s}`)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('reports an unreachable key set as retriable, never as a valid token', async () => {
    const verifier = createJwksVerifier('http://127.0.0.1:1/.well-known/jwks.json', { ...policy, timeoutMs: 1_000 });
    const err = await verifier.verify(await issue(keys)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ code: 'TOKEN_INVALID', retriable: true });
  });
});
