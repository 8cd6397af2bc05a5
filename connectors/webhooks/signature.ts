import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures. Every call carries
 *
 *   IM-Webhook-Signature: t=<epoch ms>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>
 *
 * and, while a secret is being rotated, a second `v1=` made with the previous secret, so a
 * receiver still holding the old one keeps verifying until it has moved. The timestamp is inside
 * what is signed: a receiver refuses a call whose `t` is too far from its own clock (a replay).
 */
export const SIGNATURE_HEADER = 'im-webhook-signature';
export const EVENT_HEADER = 'im-webhook-event';
export const EVENT_ID_HEADER = 'im-webhook-id';

/** The hex HMAC-SHA256 of `<timestamp>.<body>`. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The header value for a call: the current secret's signature first, then the previous one's. */
export function signatureHeader(secrets: { current: string; previous?: string | null }, timestamp: number, body: string): string {
  const parts = [`t=${timestamp}`, `v1=${signPayload(secrets.current, timestamp, body)}`];
  if (secrets.previous) parts.push(`v1=${signPayload(secrets.previous, timestamp, body)}`);
  return parts.join(',');
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' };

/**
 * What a receiver does (and the tests' receiver does): read `t` and every `v1`, refuse a `t`
 * more than `toleranceMs` from `now`, and accept when one `v1` is the HMAC with its secret.
 */
export function verifySignature(header: string | undefined, body: string, secret: string, options: { now: number; toleranceMs?: number }): SignatureCheck {
  if (!header) return { ok: false, reason: 'malformed' };
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const [name, value] = [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    if (name === 't' && /^\d+$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === null || signatures.length === 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(options.now - timestamp) > (options.toleranceMs ?? 5 * 60_000)) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(signPayload(secret, timestamp, body), 'hex');
  const match = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return match ? { ok: true, timestamp } : { ok: false, reason: 'mismatch' };
}
