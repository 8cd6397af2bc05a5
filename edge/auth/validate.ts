import { AuthError } from './errors.js';

/** The request shapes of the auth routes, checked by hand: a handful of fields needs no schema library. */
export interface RegisterBody { username: string; password: string; displayName?: string }
export interface LoginBody { username: string; password: string; deviceId?: string }

const USERNAME = /^[a-zA-Z0-9_.-]{3,32}$/;
const DEVICE_ID = /^[a-zA-Z0-9_.:-]{1,64}$/;

function bad(message: string): never {
  throw new AuthError('BAD_REQUEST', 400, message);
}

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) bad('body must be a JSON object');
  return body as Record<string, unknown>;
}

function username(v: unknown): string {
  if (typeof v !== 'string') bad('username is required');
  if (!USERNAME.test(v)) bad('username must be 3-32 characters of letters, digits, _ . -');
  return v;
}

function password(v: unknown): string {
  if (typeof v !== 'string') bad('password is required');
  // Length in code points, so a passphrase in any script counts what the user typed.
  const n = [...v].length;
  if (n < 8 || n > 128) bad('password must be 8-128 characters');
  return v;
}

export function registerBody(body: unknown): RegisterBody {
  const b = object(body);
  const out: RegisterBody = { username: username(b.username), password: password(b.password) };
  if (b.display_name !== undefined && b.display_name !== null) {
    if (typeof b.display_name !== 'string') bad('display_name must be a string');
    const name = b.display_name.trim();
    if (name.length < 1 || name.length > 64) bad('display_name must be 1-64 characters');
    out.displayName = name;
  }
  return out;
}

export function loginBody(body: unknown): LoginBody {
  const b = object(body);
  const out: LoginBody = { username: username(b.username), password: password(b.password) };
  if (b.device_id !== undefined && b.device_id !== null) {
    if (typeof b.device_id !== 'string' || !DEVICE_ID.test(b.device_id)) bad('device_id must be 1-64 characters of letters, digits, _ . : -');
    out.deviceId = b.device_id;
  }
  return out;
}

/**
 * The refresh token of a body; 400 only when there is none. A string that cannot be one of ours
 * is an unknown token (the service answers REFRESH_INVALID), not a malformed request.
 */
export function refreshTokenBody(body: unknown): string {
  const b = object(body);
  if (typeof b.refresh_token !== 'string' || b.refresh_token === '') bad('refresh_token is required');
  return b.refresh_token;
}
