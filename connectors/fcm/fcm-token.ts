import { SignJWT, importPKCS8, type CryptoKey } from 'jose';
import { PlatformError } from '../../core/errors.js';
import { H2Client } from '../offline-push/h2-client.js';
import type { SecureClientSessionOptions } from 'node:http2';

/** The fields of a Google service-account JSON key that the OAuth grant needs. */
export interface ServiceAccount {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  /** https://oauth2.googleapis.com/token */
  token_uri: string;
  project_id: string;
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/**
 * OAuth2 access tokens for FCM HTTP v1 from a service account (RFC 7523 JWT bearer grant): an
 * RS256 assertion signed with jose is exchanged at `token_uri`; the access token is reused
 * until shortly before it expires, or dropped earlier when FCM answers 401.
 */
export class FcmTokenSource {
  private key: Promise<CryptoKey> | undefined;
  private cached: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly client: H2Client;
  private readonly tokenPath: string;

  constructor(private readonly account: ServiceAccount, options: { tls?: SecureClientSessionOptions; requestTimeoutMs: number; now?: () => number }) {
    const url = new URL(account.token_uri);
    this.client = new H2Client({ origin: url.origin, tls: options.tls, requestTimeoutMs: options.requestTimeoutMs });
    this.tokenPath = url.pathname + url.search;
    this.now = options.now ?? Date.now;
  }
  private readonly now: () => number;

  async token(): Promise<string> {
    if (this.cached && this.now() < this.cached.expiresAt) return this.cached.token;
    // One exchange at a time: concurrent sends share it.
    this.pending ??= this.exchange().finally(() => (this.pending = undefined));
    return this.pending;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async exchange(): Promise<string> {
    this.key ??= importPKCS8(this.account.private_key, 'RS256');
    const iat = Math.floor(this.now() / 1000);
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(this.account.private_key_id ? { kid: this.account.private_key_id } : {}) })
      .setIssuer(this.account.client_email)
      .setAudience(this.account.token_uri)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .sign(await this.key);
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString();
    const res = await this.client.request('POST', this.tokenPath, { 'content-type': 'application/x-www-form-urlencoded' }, body);
    if (res.status !== 200) {
      throw new PlatformError('FCM_OAUTH_FAILED', `token exchange answered ${res.status}: ${res.body.slice(0, 200)}`, { retriable: res.status === 429 || res.status >= 500 });
    }
    const parsed = JSON.parse(res.body) as { access_token?: string; expires_in?: number };
    if (!parsed.access_token) throw new PlatformError('FCM_OAUTH_FAILED', 'token exchange answered without access_token');
    // A minute of margin so a token never expires in flight.
    this.cached = { token: parsed.access_token, expiresAt: this.now() + Math.max(0, (parsed.expires_in ?? 3600) - 60) * 1000 };
    return parsed.access_token;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
