import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendMsg, startPlatform, type Platform, type User } from '../../e2e/harness.js';
import type { TestClient } from '../gateway/testing.js';
import { ErrorCodes } from '../../protocol/codes.js';

/**
 * Bad input over HTTP, generated, against the whole platform on the memory engine: every
 * route of docs/protocol.md with random and near-valid bodies (wrong types, huge and negative
 * numbers, deep nesting, unknown fields, `__proto__` keys, `{"$gt":""}` for a name or an id),
 * bodies that are not UTF-8 JSON or too large, odd path segments (injection strings, broken
 * percent-encoding) and query parameters, with and without a token. Every request is answered:
 * a documented status, and for an error a documented `error_code` with a message, never a 500;
 * the process lives and two users chatting over WebSocket meanwhile are not disturbed.
 */
interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  auth: boolean;
  /** Body fields and their valid values; none for routes without a body. */
  body?: Record<string, fc.Arbitrary<unknown>>;
  query?: Record<string, fc.Arbitrary<string>>;
}

const id = fc.constantFrom('bob', 'g-1', 'u_2', 'x'.repeat(128));
const routes: RouteSpec[] = [
  { method: 'POST', path: '/v1/auth/register', auth: false, body: { username: fc.stringMatching(/^[a-zA-Z0-9_.-]{3,32}$/), password: fc.string({ minLength: 8, maxLength: 20 }), display_name: fc.string({ maxLength: 70 }) } },
  { method: 'POST', path: '/v1/auth/login', auth: false, body: { username: fc.stringMatching(/^[a-z]{3,10}$/), password: fc.string({ minLength: 8, maxLength: 20 }), device_id: fc.stringMatching(/^[a-z0-9:]{1,10}$/) } },
  { method: 'POST', path: '/v1/auth/refresh', auth: false, body: { refresh_token: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) } },
  { method: 'POST', path: '/v1/auth/logout', auth: false, body: { refresh_token: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) } },
  { method: 'GET', path: '/v1/users/:userId', auth: true },
  { method: 'GET', path: '/v1/users', auth: true, query: { username: fc.string({ maxLength: 12 }), ids: fc.array(id, { maxLength: 3 }).map((a) => a.join(',')), prefix: fc.stringMatching(/^[a-z.]{0,4}$/), after: fc.string({ maxLength: 6 }), limit: fc.nat().map(String) } },
  { method: 'GET', path: '/v1/profile', auth: true },
  { method: 'GET', path: '/v1/presence', auth: true, query: { ids: fc.array(id, { maxLength: 3 }).map((a) => a.join(',')) } },
  { method: 'PUT', path: '/v1/profile', auth: true, body: { display_name: fc.string({ maxLength: 70 }), avatar_url: fc.constantFrom('https://img.example/a.png', 'javascript:alert(1)', 'http://x', ''), bio: fc.string({ maxLength: 300 }), presence_visibility: fc.constantFrom('everyone', 'friends', 'nobody') } },
  { method: 'POST', path: '/v1/friends/requests', auth: true, body: { user_id: id, username: fc.stringMatching(/^[a-z]{2,6}$/), note: fc.string({ maxLength: 210 }) } },
  { method: 'POST', path: '/v1/friends/requests/:userId/accept', auth: true },
  { method: 'POST', path: '/v1/friends/requests/:userId/reject', auth: true },
  { method: 'DELETE', path: '/v1/friends/:userId', auth: true },
  { method: 'POST', path: '/v1/blocks/:userId', auth: true },
  { method: 'DELETE', path: '/v1/blocks/:userId', auth: true },
  { method: 'GET', path: '/v1/friends', auth: true },
  { method: 'POST', path: '/v1/groups', auth: true, body: { name: fc.string({ maxLength: 70 }), members: fc.array(id, { maxLength: 3 }) } },
  { method: 'GET', path: '/v1/groups', auth: true },
  { method: 'GET', path: '/v1/groups/:groupId', auth: true },
  { method: 'DELETE', path: '/v1/groups/:groupId', auth: true },
  { method: 'POST', path: '/v1/groups/:groupId/members', auth: true, body: { user_ids: fc.array(id, { minLength: 1, maxLength: 3 }) } },
  { method: 'DELETE', path: '/v1/groups/:groupId/members/:userId', auth: true },
  { method: 'POST', path: '/v1/groups/:groupId/leave', auth: true },
  { method: 'PUT', path: '/v1/groups/:groupId/members/:userId/role', auth: true, body: { role: fc.constantFrom('owner', 'admin', 'member') } },
  { method: 'POST', path: '/v1/groups/:groupId/members/:userId/mute', auth: true, body: { until: fc.nat() } },
  { method: 'DELETE', path: '/v1/groups/:groupId/members/:userId/mute', auth: true },
  { method: 'POST', path: '/v1/groups/:groupId/mute-all', auth: true },
  { method: 'DELETE', path: '/v1/groups/:groupId/mute-all', auth: true },
  { method: 'PUT', path: '/v1/groups/:groupId/announcement', auth: true, body: { text: fc.string({ maxLength: 50 }) } },
  { method: 'PUT', path: '/v1/groups/:groupId/name', auth: true, body: { name: fc.string({ maxLength: 70 }) } },
  { method: 'GET', path: '/v1/conversations', auth: true, query: { limit: fc.nat().map(String) } },
  { method: 'GET', path: '/v1/conversations/:id/messages', auth: true, query: { after_seq: fc.nat().map(String), before_seq: fc.nat().map(String), limit: fc.nat().map(String) } },
  { method: 'POST', path: '/v1/devices', auth: true, body: { platform: fc.constantFrom('apns', 'fcm'), token: fc.stringMatching(/^[a-f0-9]{8,64}$/) } },
  { method: 'DELETE', path: '/v1/devices/:token', auth: true },
];

const injections = ['{"$gt":""}', '{"$ne":null}', '__proto__', 'constructor', "'; DROP TABLE users; --", '<script>', '../../etc/passwd', 'd:alice:bob', 'a|b', '\u0000', '😀', ''];
/** Values of the wrong type, or out of any sensible range. */
const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...injections),
  fc.constant({ $gt: '' }),
  fc.constantFrom(-1, -0, 1.5, 1e308, -1e308, 2 ** 53 - 1, 2 ** 53, 2 ** 31, Number.MIN_SAFE_INTEGER),
  fc.constantFrom(null, true, false, [], {}),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A body: JSON text, none, bytes that are not UTF-8 JSON (`raw`), or more than the 64 KB allowed. */
type Body = { kind: 'none' } | { kind: 'json'; text: string } | { kind: 'raw'; bytes: Buffer } | { kind: 'oversize'; bytes: Buffer };

const deep = fc.integer({ min: 100, max: 5_000 }).map((d) => '['.repeat(d) + ']'.repeat(d));
const numberLiteral = fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '9007199254740993');

function bodyFor(route: RouteSpec): fc.Arbitrary<Body> {
  const fields = Object.entries(route.body ?? {});
  const nearValid = fields.length === 0
    ? fc.constant('{}')
    : fc.tuple(
      fc.tuple(...fields.map(([name, valid]) => fc.oneof(
        { weight: 5, arbitrary: valid.map((v) => `${JSON.stringify(name)}:${JSON.stringify(v)}`) },
        { weight: 2, arbitrary: nasty.map((v) => `${JSON.stringify(name)}:${JSON.stringify(v)}`) },
        { weight: 1, arbitrary: numberLiteral.map((n) => `${JSON.stringify(name)}:${n}`) },
        { weight: 1, arbitrary: fc.constant(null) },
      ))),
      fc.array(fc.tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.string({ maxLength: 6 })), nasty), { maxLength: 2 }),
    ).map(([parts, extra]) => `{${[...parts.filter((x): x is string => x !== null), ...extra.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)].join(',')}}`);
  return fc.oneof(
    { weight: 6, arbitrary: nearValid.map((text) => ({ kind: 'json' as const, text })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ kind: 'json' as const, text: JSON.stringify(v) })) },
    { weight: 1, arbitrary: deep.map((text) => ({ kind: 'json' as const, text })) },
    { weight: 1, arbitrary: fc.constantFrom('{nope', '{"a":', "{'a':1}", 'undefined', '{"a":1}}', 'NaN').map((t) => ({ kind: 'raw' as const, bytes: Buffer.from(t) })) },
    { weight: 1, arbitrary: fc.constantFrom([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d], [0xc0, 0xaf], [0xed, 0xa0, 0x80]).map((b) => ({ kind: 'raw' as const, bytes: Buffer.from(b) })) },
    { weight: 1, arbitrary: fc.integer({ min: 64 * 1024 + 1, max: 300 * 1024 }).map((n) => ({ kind: 'oversize' as const, bytes: Buffer.alloc(n, 0x20) })) },
  );
}

/**
 * A path segment: a plausible id, an injection string or any text (percent-encoded), or broken
 * percent-encoding. Not `.` or `..`: URLs resolve those before a request is sent.
 */
const segment: fc.Arbitrary<{ text: string; broken: boolean }> = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(id, fc.constantFrom(...injections.filter((s) => s !== '')), fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s !== '.' && s !== '..')).map((s) => ({ text: encodeURIComponent(s), broken: false })) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%E0%A4%A', '%ff', '%C0%AF', 'a%2').map((text) => ({ text, broken: true })) },
);

function queryFor(route: RouteSpec): fc.Arbitrary<string> {
  const known = Object.entries(route.query ?? {}).map(([name, valid]) =>
    fc.option(fc.oneof(valid, fc.constantFrom('-1', '1.5', '1e400', '9007199254740993', 'abc', '', '{"$gt":""}', '%ff'), fc.string({ maxLength: 10 })).map((v) => `${name}=${v.startsWith('%') ? v : encodeURIComponent(v)}`)),
  );
  const unknown = fc.option(fc.constantFrom('__proto__=x', 'constructor=1', 'a[b]=c', 'token=x', '%=1'));
  return fc.tuple(...known, unknown).map((parts) => parts.filter((x): x is string => x !== null).join('&'));
}

interface Request {
  /** The route without its generators, so a counterexample prints short. */
  route: Pick<RouteSpec, 'method' | 'path' | 'auth'>;
  path: string;
  broken: boolean;
  query: string;
  body: Body;
  token: 'valid' | 'none' | 'garbage';
}

const request: fc.Arbitrary<Request> = fc.constantFrom(...routes).chain((route) => {
  const names = route.path.split('/').filter((s) => s.startsWith(':'));
  return fc.record({
    segments: fc.tuple(...names.map(() => segment)),
    query: queryFor(route),
    body: route.method === 'GET' ? fc.constant<Body>({ kind: 'none' }) : bodyFor(route),
    token: route.auth ? fc.constantFrom('valid' as const, 'valid' as const, 'valid' as const, 'none' as const, 'garbage' as const) : fc.constant('none' as const),
  }).map(({ segments, query, body, token }) => {
    let i = 0;
    const path = route.path.split('/').map((s) => (s.startsWith(':') ? segments[i++]!.text : s)).join('/');
    return { route: { method: route.method, path: route.path, auth: route.auth }, path, broken: segments.some((s) => s.broken), query, body, token };
  });
});

const DOCUMENTED_STATUS = new Set([200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 429]);
const CODES = new Set(Object.keys(ErrorCodes));

describe('HTTP bodies, paths and query parameters against the gateway (memory engine)', () => {
  let p: Platform;
  let prober: User;
  let chat: { a: TestClient; b: TestClient; bob: User } | undefined;
  beforeAll(async () => {
    // The chat's pace would trip the message rate limits, which are not what this test is about.
    p = await startPlatform('memory', { IM_REQUIRE_FRIENDSHIP: 'false', IM_USER_RATE_PER_SEC: '1000000', IM_ROUTER_RATE_PER_SEC: '1000000', IM_ROUTER_BURST: '1000000' });
    prober = await p.user('prober');
    const [alice, bob] = [await p.user('alice'), await p.user('bob')];
    chat = { a: await alice.connect(), b: await bob.connect(), bob };
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
  });

  async function call(r: Request): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (r.token === 'valid') headers.authorization = `Bearer ${prober.token}`;
    if (r.token === 'garbage') headers.authorization = 'Bearer {"$gt":""}';
    const body = r.body.kind === 'none' ? undefined : r.body.kind === 'json' ? r.body.text : r.body.bytes;
    const res = await fetch(`${p.baseUrl}${r.path}${r.query ? `?${r.query}` : ''}`, { method: r.route.method, headers, body, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, text: await res.text() };
  }

  it('answers every request with a documented status and error code, and never disturbs a chat', async () => {
    const { a, b, bob } = chat!;
    let sent = 0;
    const latencies: number[] = [];
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        // A message of the chat goes with each request and must arrive as ever.
        const tag = `chat-${++sent}`;
        const sentAt = Date.now();
        a.send(sendMsg(bob.id, tag, 'user', tag));
        const { status, text } = await call(r);
        const what = `${r.route.method} ${r.path}?${r.query} (${r.body.kind}) -> ${status} ${text.slice(0, 200)}`;
        expect(DOCUMENTED_STATUS.has(status), what).toBe(true);
        if (status >= 400) {
          const err = JSON.parse(text) as { error_code?: unknown; error_message?: unknown };
          expect(CODES.has(String(err.error_code)), what).toBe(true);
          expect(typeof err.error_message === 'string' && err.error_message.length > 0, what).toBe(true);
        } else if (status !== 204) {
          expect(() => JSON.parse(text), what).not.toThrow();
        }
        // What the document fixes whatever the route: size first, then the path, the body, the token.
        if (r.body.kind === 'oversize') expect([status, JSON.parse(text).error_code], what).toEqual([413, 'PAYLOAD_TOO_LARGE']);
        else if (r.broken || r.body.kind === 'raw') expect([status, JSON.parse(text).error_code], what).toEqual([400, 'BAD_REQUEST']);
        else if (r.route.auth && r.token !== 'valid') expect([status, JSON.parse(text).error_code], what).toEqual([401, 'UNAUTHORIZED']);
        await b.next((f) => f.type === 'message' && f.client_msg_id === tag, 10_000);
        latencies.push(Date.now() - sentAt);
      }),
      { numRuns: 300 },
    );
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect((await fetch(`${p.baseUrl}/healthz`)).status).toBe(200);
    expect(a.closed ?? b.closed).toBeNull();
    expect(latencies).toHaveLength(sent);
    expect(Math.max(...latencies)).toBeLessThan(5_000);
  });
});
