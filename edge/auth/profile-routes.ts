import { isUserOrGroupId } from '../../protocol/limits.js';
import { HttpError, type HttpRequest, type HttpResponse, type HttpRoute } from '../http/routes.js';
import type { Profiles, PublicProfile } from './profiles.js';
import { PRESENCE_VISIBILITIES, type PresenceVisibility, type ProfilePatch } from './user-store.js';

/** Bounds of the profile fields, in code points (what the user typed, whatever the script). */
export const PROFILE_LIMITS = { displayName: 64, bio: 280, avatarUrl: 512 } as const;

/** An exact username as registration allows it; a prefix is one to 32 of the same characters. */
const USERNAME = /^[a-zA-Z0-9_.-]{3,32}$/;
const PREFIX = /^[a-zA-Z0-9_.-]{1,32}$/;
/** Control characters and the line and paragraph separators: never part of a name shown in a list. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const bad = (message: string): never => {
  throw new HttpError(400, 'BAD_REQUEST', message);
};
const notFound = (): never => {
  throw new HttpError(404, 'USER_NOT_FOUND', 'no user with that id or username');
};
const length = (s: string): number => [...s].length;

function me(req: HttpRequest): string {
  if (!req.userId) throw new HttpError(401, 'UNAUTHORIZED', 'authentication required');
  return req.userId;
}

/** `{display_name?, avatar_url?, bio?, presence_visibility?}`: at least one; null or "" clears avatar and bio. Unknown fields are ignored. */
export function profilePatch(body: unknown): ProfilePatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) bad('body must be a JSON object');
  const b = body as Record<string, unknown>;
  const patch: ProfilePatch = {};
  if (b.display_name !== undefined) {
    if (typeof b.display_name !== 'string') bad('display_name must be a string');
    const name = (b.display_name as string).trim();
    if (length(name) < 1 || length(name) > PROFILE_LIMITS.displayName || CONTROL.test(name)) bad(`display_name must be 1-${PROFILE_LIMITS.displayName} characters, no control characters`);
    patch.displayName = name;
  }
  if (b.avatar_url !== undefined) patch.avatarUrl = b.avatar_url === null || b.avatar_url === '' ? null : avatarUrl(b.avatar_url);
  if (b.bio !== undefined) {
    if (b.bio !== null && typeof b.bio !== 'string') bad('bio must be a string or null');
    const bio = typeof b.bio === 'string' ? b.bio.trim() : '';
    if (length(bio) > PROFILE_LIMITS.bio || /[\u0000-\u0009\u000b-\u001f\u007f]/.test(bio)) bad(`bio must be at most ${PROFILE_LIMITS.bio} characters`);
    patch.bio = bio === '' ? null : bio;
  }
  if (b.presence_visibility !== undefined) {
    if (!(PRESENCE_VISIBILITIES as readonly unknown[]).includes(b.presence_visibility)) bad(`presence_visibility must be one of ${PRESENCE_VISIBILITIES.join(', ')}`);
    patch.presenceVisibility = b.presence_visibility as PresenceVisibility;
  }
  if (Object.keys(patch).length === 0) bad('nothing to change: send display_name, avatar_url, bio or presence_visibility');
  return patch;
}

/**
 * An avatar is a link the clients load: http or https only (no `javascript:`, `data:` or
 * `file:`), no credentials in it, bounded length. Stored in the URL parser's normal form.
 */
function avatarUrl(v: unknown): string {
  if (typeof v !== 'string' || v.length > PROFILE_LIMITS.avatarUrl) return bad(`avatar_url must be a URL of at most ${PROFILE_LIMITS.avatarUrl} characters`);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return bad('avatar_url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') bad('avatar_url must be an http or https URL');
  if (url.username || url.password) bad('avatar_url must not carry credentials');
  return url.href;
}

function page(value: string | undefined, max: number): number {
  if (value === undefined) return max;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max) bad(`limit must be 1-${max}`);
  return n;
}

/**
 * Profiles and finding people over HTTP. Other users' profiles may be cached by the client for
 * `cacheMaxAgeSec` (a profile changes rarely and is read on every list the client draws; see
 * docs/protocol.md, "Profiles"), one's own never.
 */
export function profileRoutes(profiles: Profiles): HttpRoute[] {
  const { pageMax, cacheMaxAgeSec } = profiles.config;
  const cached = { 'cache-control': `private, max-age=${cacheMaxAgeSec}` };
  const ok = (body: unknown, headers?: Record<string, string>): HttpResponse => ({ status: 200, body, ...(headers ? { headers } : {}) });
  const found = (p: PublicProfile | null): HttpResponse => ok(p ?? notFound(), cached);
  return [
    {
      method: 'GET', path: '/v1/profile', auth: true,
      handler: async (req) => ok((await profiles.own(me(req))) ?? notFound(), { 'cache-control': 'no-store' }),
    },
    {
      method: 'PUT', path: '/v1/profile', auth: true,
      handler: async (req) => ok((await profiles.update(me(req), profilePatch(req.body))) ?? notFound(), { 'cache-control': 'no-store' }),
    },
    {
      method: 'GET', path: '/v1/users/:userId', auth: true,
      handler: async (req) => {
        const id = req.params.userId;
        // A string that cannot be an id names no user; it is never given to the store.
        return found(isUserOrGroupId(id) ? await profiles.byId(id) : null);
      },
    },
    {
      // One of: `username` (exact, case-insensitive), `ids` (comma-separated), `prefix` (search, paged by `after`).
      method: 'GET', path: '/v1/users', auth: true,
      handler: async (req) => {
        const { username, ids, prefix, after, limit } = req.query;
        const modes = [username, ids, prefix].filter((v) => v !== undefined).length;
        if (modes !== 1) bad('give exactly one of username, ids, prefix');
        if (username !== undefined) {
          if (!USERNAME.test(username)) bad('username must be 3-32 characters of letters, digits, _ . -');
          return found(await profiles.byUsername(username));
        }
        if (ids !== undefined) {
          const list = [...new Set(ids.split(',').filter(Boolean))];
          if (list.length === 0 || list.length > pageMax || !list.every(isUserOrGroupId)) bad(`ids must be 1-${pageMax} comma-separated user ids`);
          return ok({ users: await profiles.byIds(list) }, cached);
        }
        if (!PREFIX.test(prefix!)) bad('prefix must be 1-32 characters of letters, digits, _ . -');
        if (after !== undefined && !PREFIX.test(after)) bad('after must be a username from the previous page');
        const result = await profiles.search(prefix!, { limit: page(limit, pageMax), ...(after === undefined ? {} : { after }) });
        return ok({ users: result.users, next_after: result.next }, cached);
      },
    },
  ];
}
