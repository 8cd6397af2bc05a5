import { createHmac } from 'node:crypto';
import { issueAccessToken, loadKeys, type AuthKeys } from '../edge/auth/index.js';
import type { ClientSpec } from './load/messages.js';
import { RUN_TAG } from './namespace.js';
import { AUTH } from './sut.js';

/** Access tokens minted with the SUT's own signing key, so no user goes through registration. */
export async function imKeys(privateKeyPem: string): Promise<AuthKeys> {
  return loadKeys({ privateKeyPem, mode: 'development' });
}

export async function mintImClients(keys: AuthKeys, userIds: readonly string[], ttlSec = 3600): Promise<ClientSpec[]> {
  const out: ClientSpec[] = [];
  for (const userId of userIds) {
    const { token } = await issueAccessToken(keys, { userId, deviceId: 'bench' }, { issuer: AUTH.issuer, audience: AUTH.audience, ttlSec });
    out.push({ userId, token });
  }
  return out;
}

const b64url = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

/** An HS256 JWT for Centrifugo (its `token_hmac_secret_key`). */
export function centrifugoToken(secret: string, userId: string, ttlSec = 3600): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub: userId, exp: Math.floor(Date.now() / 1000) + ttlSec }));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

export function userIds(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${RUN_TAG}-${i}`);
}
