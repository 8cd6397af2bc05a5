import { SignJWT, importPKCS8, type CryptoKey } from 'jose';

export interface ApnsTokenConfig {
  /** The .p8 signing key (PKCS#8 PEM) from the Apple developer account. */
  keyPem: string;
  keyId: string;
  teamId: string;
  /** Apple refuses tokens older than an hour and throttles ones renewed more than every 20 min. */
  refreshAfterMs: number;
}

/**
 * APNs provider authentication token: an ES256 JWT (kid = key id, iss = team id, iat), signed
 * with jose and reused until `refreshAfterMs` (about 50 minutes), or earlier when APNs calls it
 * expired or invalid.
 */
export class ApnsTokenSource {
  private key: Promise<CryptoKey> | undefined;
  private cached: { jwt: Promise<string>; at: number } | undefined;

  constructor(private readonly config: ApnsTokenConfig, private readonly now: () => number = Date.now) {}

  /** Concurrent callers share one signing (APNs throttles a provider renewing its token too often). */
  token(): Promise<string> {
    const t = this.now();
    if (this.cached && t - this.cached.at < this.config.refreshAfterMs) return this.cached.jwt;
    const key = (this.key ??= importPKCS8(this.config.keyPem, 'ES256'));
    const jwt = key.then((k) => new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: this.config.keyId }).setIssuer(this.config.teamId).setIssuedAt(Math.floor(t / 1000)).sign(k));
    const entry = { jwt, at: t };
    this.cached = entry;
    jwt.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return jwt;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}
