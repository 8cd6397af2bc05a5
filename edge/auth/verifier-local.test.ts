import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { PlatformError } from '../../core/errors.js';
import { issueAccessToken } from './access-token.js';
import { generateKeys, type AuthKeys } from './keys.js';
import { createLocalVerifier } from './verifier-local.js';

const policy = { issuer: 'im-test', audience: 'im-clients', clockToleranceSec: 5 };
const issue = (keys: AuthKeys, over: Partial<{ issuer: string; audience: string; ttlSec: number; now: number }> = {}) =>
  issueAccessToken(keys, { userId: 'u-1', deviceId: 'dev-1' }, { ...policy, ttlSec: 60, ...over }).then((t) => t.token);

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PlatformError);
    const e = err as PlatformError;
    // The jose reason rides in the cause: asserting it shows each case fails for its own reason.
    const reason = (e.cause as { code?: string; claim?: string } | undefined);
    return [e.code, reason?.code, reason?.claim].filter(Boolean).join(' ');
  }
  throw new Error('token was accepted');
}

describe.each(['EdDSA', 'ES256'] as const)('local verifier with %s keys', (alg) => {
  let keys: AuthKeys;
  let other: AuthKeys;
  beforeAll(async () => {
    keys = await generateKeys(alg);
    other = await generateKeys(alg);
  });
  const verifier = () => createLocalVerifier(keys.jwks, policy);

  it('accepts a valid token and returns user, device and expiry', async () => {
    const now = Date.now();
    const token = await issue(keys, { now });
    const v = await verifier().verify(token);
    expect(v).toEqual({ userId: 'u-1', deviceId: 'dev-1', expiresAt: (Math.floor(now / 1000) + 60) * 1000 });
  });

  it('refuses an expired token with TOKEN_EXPIRED, within a small clock tolerance', async () => {
    const expired = await issue(keys, { now: Date.now() - 70_000 });
    expect(await refusal(verifier().verify(expired))).toBe('TOKEN_EXPIRED ERR_JWT_EXPIRED exp');
    const justExpired = await issue(keys, { now: Date.now() - 62_000 });
    await expect(verifier().verify(justExpired)).resolves.toMatchObject({ userId: 'u-1' });
  });

  it('refuses a wrong audience and a wrong issuer', async () => {
    expect(await refusal(verifier().verify(await issue(keys, { audience: 'someone-else' })))).toBe('TOKEN_INVALID ERR_JWT_CLAIM_VALIDATION_FAILED aud');
    expect(await refusal(verifier().verify(await issue(keys, { issuer: 'evil-issuer' })))).toBe('TOKEN_INVALID ERR_JWT_CLAIM_VALIDATION_FAILED iss');
  });

  it('refuses a token signed by another key, whether its kid is foreign or borrowed', async () => {
    expect(await refusal(verifier().verify(await issue(other)))).toBe('TOKEN_INVALID ERR_JWKS_NO_MATCHING_KEY');
    const borrowed = await issue({ ...other, kid: keys.kid });
    expect(await refusal(verifier().verify(borrowed))).toBe('TOKEN_INVALID ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses alg none', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const claims = { sub: 'u-1', did: 'dev-1', iss: policy.issuer, aud: policy.audience, exp, iat: exp - 60, jti: 'j' };
    for (const header of [{ alg: 'none', typ: 'at+jwt' }, { alg: 'none', typ: 'at+jwt', kid: keys.kid }]) {
      expect(await refusal(verifier().verify(`${b64(header)}.${b64(claims)}.`))).toBe('TOKEN_INVALID ERR_JOSE_ALG_NOT_ALLOWED');
    }
  });

  it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const head = b64({ alg: 'HS256', typ: 'at+jwt', kid: keys.kid });
    const body = b64({ sub: 'u-1', did: 'dev-1', iss: policy.issuer, aud: policy.audience, exp, iat: exp - 60, jti: 'j' });
    const sig = createHmac('sha256', JSON.stringify(keys.jwks.keys[0])).update(`${head}.${body}`).digest('base64url');
    expect(await refusal(verifier().verify(`${head}.${body}.${sig}`))).toBe('TOKEN_INVALID ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses a tampered payload', async () => {
    const [head, body, sig] = (await issue(keys)).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${head}.${b64({ ...claims, sub: 'admin' })}.${sig}`;
    expect(await refusal(verifier().verify(forged))).toBe('TOKEN_INVALID ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses garbage, a JWT of another type, and one without a device', async () => {
    expect(await refusal(verifier().verify('not.a.jwt'))).toBe('TOKEN_INVALID ERR_JWS_INVALID');
    expect(await refusal(verifier().verify(''))).toBe('TOKEN_INVALID ERR_JWS_INVALID');
    const idToken = await new SignJWT({ did: 'dev-1' })
      .setProtectedHeader({ alg: keys.alg, kid: keys.kid, typ: 'JWT' })
      .setSubject('u-1').setIssuer(policy.issuer).setAudience(policy.audience).setIssuedAt().setExpirationTime('1m').setJti('j')
      .sign(keys.privateKey);
    expect(await refusal(verifier().verify(idToken))).toBe('TOKEN_INVALID ERR_JWT_CLAIM_VALIDATION_FAILED typ');
    const noDevice = await new SignJWT({})
      .setProtectedHeader({ alg: keys.alg, kid: keys.kid, typ: 'at+jwt' })
      .setSubject('u-1').setIssuer(policy.issuer).setAudience(policy.audience).setIssuedAt().setExpirationTime('1m').setJti('j')
      .sign(keys.privateKey);
    expect(await refusal(verifier().verify(noDevice))).toBe('TOKEN_INVALID ERR_JWT_CLAIM_VALIDATION_FAILED did');
  });
});
