import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { loadKeys } from './keys.js';

const ed25519Pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
// SEC1 ("BEGIN EC PRIVATE KEY") is what `openssl ecparam -genkey` writes.
const p256Sec1Pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString();

describe('loadKeys', () => {
  it('loads an Ed25519 PEM as EdDSA with a stable RFC 7638 kid', async () => {
    const a = await loadKeys({ privateKeyPem: ed25519Pem, mode: 'production' });
    const b = await loadKeys({ privateKeyPem: ed25519Pem, mode: 'production' });
    expect(a.alg).toBe('EdDSA');
    expect(a.ephemeral).toBe(false);
    expect(a.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.kid).toBe(a.kid);
    expect(a.jwks.keys).toEqual([expect.objectContaining({ kid: a.kid, alg: 'EdDSA', use: 'sig', kty: 'OKP', crv: 'Ed25519' })]);
    expect(a.jwks.keys[0]).not.toHaveProperty('d');
  });

  it('loads a P-256 SEC1 PEM as ES256, also with escaped newlines from an env file', async () => {
    const keys = await loadKeys({ privateKeyPem: p256Sec1Pem.replace(/\n/g, '\\n'), mode: 'production' });
    expect(keys.alg).toBe('ES256');
    expect(keys.jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(keys.jwks.keys[0]).not.toHaveProperty('d');
  });

  it('refuses RSA and unreadable keys', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await expect(loadKeys({ privateKeyPem: rsa, mode: 'development' })).rejects.toBeInstanceOf(ConfigError);
    await expect(loadKeys({ privateKeyPem: 'not a key', mode: 'development' })).rejects.toBeInstanceOf(ConfigError);
  });

  it('generates an ephemeral key in development and refuses to in production', async () => {
    const dev = await loadKeys({ privateKeyPem: null, mode: 'development' });
    expect(dev.ephemeral).toBe(true);
    expect(dev.alg).toBe('EdDSA');
    await expect(loadKeys({ privateKeyPem: null, mode: 'production' })).rejects.toThrow(/IM_AUTH_PRIVATE_KEY_PEM/);
  });
});
