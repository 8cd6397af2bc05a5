import { createPrivateKey } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';
import { ConfigError } from '../../core/errors.js';

/** Asymmetric algorithms only: a verifier holding the public half can never mint tokens. */
export type SigningAlg = 'EdDSA' | 'ES256';
export const SIGNING_ALGS: readonly SigningAlg[] = ['EdDSA', 'ES256'];

/** A public JWK as published in the JWKS, always carrying `kid`, `alg` and `use`. */
export type PublicJwk = JWK & { kid: string; alg: SigningAlg; use: 'sig' };

/** The JSON document served at `/.well-known/jwks.json`. */
export interface Jwks {
  keys: PublicJwk[];
}

/**
 * The issuer's key material: one signing key plus the public keys verifiers accept. A rotation
 * adds the next key's public half to `jwks` before it signs, so tokens in flight stay valid.
 */
export interface AuthKeys {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  /** True for a key generated at start: tokens die with the process. */
  ephemeral: boolean;
  jwks: Jwks;
}

export interface LoadKeysOptions {
  privateKeyPem: string | null;
  mode: 'development' | 'production';
}

/** Ed25519 or P-256 from the PEM's own key type, so operators need not name the algorithm. */
function algOfPem(pem: string): SigningAlg {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new ConfigError([`IM_AUTH_PRIVATE_KEY_PEM is not a readable private key: ${(err as Error).message}`]);
  }
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new ConfigError([`IM_AUTH_PRIVATE_KEY_PEM must be an Ed25519 or P-256 key, got ${key.asymmetricKeyType}`]);
}

/** PKCS#8 whatever the PEM flavour (SEC1 "EC PRIVATE KEY" is common from openssl). */
function toPkcs8(pem: string): string {
  return createPrivateKey(pem).export({ format: 'pem', type: 'pkcs8' }).toString();
}

async function publicJwkOf(privateKey: CryptoKey, alg: SigningAlg): Promise<PublicJwk> {
  const full = await exportJWK(privateKey);
  // Keep only the public members: `d` must never reach the JWKS.
  const pub: JWK = { kty: full.kty, crv: full.crv, x: full.x };
  if (full.y !== undefined) pub.y = full.y;
  // RFC 7638 thumbprint: the same PEM yields the same kid on every instance and restart.
  const kid = await calculateJwkThumbprint(pub);
  return { ...pub, kid, alg, use: 'sig' };
}

/** Builds the key set from a PEM; without one, an ephemeral Ed25519 key, refused in production. */
export async function loadKeys(options: LoadKeysOptions): Promise<AuthKeys> {
  if (options.privateKeyPem) {
    const pem = options.privateKeyPem.replace(/\\n/g, '\n'); // env files often carry escaped newlines
    const alg = algOfPem(pem);
    const privateKey = await importPKCS8(toPkcs8(pem), alg, { extractable: true });
    return fromPrivateKey(privateKey, alg, false);
  }
  if (options.mode === 'production') {
    throw new ConfigError(['IM_AUTH_PRIVATE_KEY_PEM must be set in production mode; ephemeral keys are for development']);
  }
  return generateKeys('EdDSA');
}

/** A fresh key pair (development, tests). */
export async function generateKeys(alg: SigningAlg = 'EdDSA'): Promise<AuthKeys> {
  const { privateKey } = alg === 'EdDSA'
    ? await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    : await generateKeyPair('ES256', { extractable: true });
  return fromPrivateKey(privateKey, alg, true);
}

async function fromPrivateKey(privateKey: CryptoKey, alg: SigningAlg, ephemeral: boolean): Promise<AuthKeys> {
  const jwk = await publicJwkOf(privateKey, alg);
  return { kid: jwk.kid, alg, privateKey, ephemeral, jwks: { keys: [jwk] } };
}
