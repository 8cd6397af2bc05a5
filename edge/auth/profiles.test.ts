import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryMirror } from '../../connectors/mongo-mirror/mirror-memory.js';
import { recordingCommandProducer } from '../http/command-producer.js';
import { relationRoutes } from '../http/relations-routes.js';
import type { HttpResponse, HttpRoute } from '../http/routes.js';
import { callRoute } from '../http/testing.js';
import { profileRoutes } from './profile-routes.js';
import { createProfiles, type PublicProfile } from './profiles.js';
import { openTestDb } from './testing.js';
import { createMemoryUserStore } from './user-store-memory.js';
import { createMongoUserStore } from './user-store-mongo.js';
import type { UserStore } from './user-store.js';

/**
 * Profiles and finding people on both user stores (memory, and MongoDB: FerretDB on the stack):
 * update with validation, lookup by id, exact username and many ids, the prefix search paged
 * through the username index, and a friend request by username or to nobody.
 */
interface Backend { name: string; setup(): Promise<void>; make(run: number): Promise<UserStore>; teardown(): Promise<void> }

let mongo: Awaited<ReturnType<typeof openTestDb>> | null = null;
const backends: Backend[] = [
  { name: 'memory', setup: async () => {}, make: async () => createMemoryUserStore(() => 1_000), teardown: async () => {} },
  {
    name: 'mongo',
    setup: async () => void (mongo = await openTestDb('profiles')),
    make: async (run) => {
      const store = createMongoUserStore(mongo!.db, { collection: `users_${run}`, now: () => 1_000 });
      await store.ensureIndexes();
      return store;
    },
    teardown: async () => mongo?.close(),
  },
];

const body = <T>(r: HttpResponse): T => r.body as T;
const code = (r: HttpResponse): [number, string] => [r.status, (r.body as { error_code: string }).error_code];

describe.each(backends)('profiles on the $name user store', (backend) => {
  let run = 0;
  let users: UserStore;
  let routes: HttpRoute[];
  let clock = 5_000;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    await backend.setup();
    users = await backend.make(++run);
    const profiles = createProfiles({ users, now: () => clock }, { pageMax: 3, cacheMaxAgeSec: 60 });
    routes = [...profileRoutes(profiles), ...relationRoutes({ commands: recordingCommandProducer(), mirror: createMemoryMirror(), users: profiles })];
    for (const name of ['Ann', 'anna', 'annabel', 'annette', 'bob', 'annie.x']) {
      ids[name] = (await users.create({ username: name, displayName: `${name} D.`, passwordHash: 'h' })).userId;
    }
  });
  afterAll(() => backend.teardown());

  const get = (url: string, as = ids.bob!) => callRoute(routes, as, 'GET', url);
  const put = (patch: unknown, as = ids.bob!) => callRoute(routes, as, 'PUT', '/v1/profile', patch);

  it('shows a new account with its display name and an empty profile', async () => {
    const r = await get('/v1/profile', ids.Ann);
    expect(r).toMatchObject({ status: 200, headers: { 'cache-control': 'no-store' } });
    expect(body(r)).toEqual({ user_id: ids.Ann, username: 'Ann', display_name: 'Ann D.', avatar_url: null, bio: null, updated_at: 1_000, presence_visibility: 'friends' });
    // The setting is its owner's: not in the profile others read.
    expect(body(await get(`/v1/users/${ids.Ann}`))).not.toHaveProperty('presence_visibility');
  });

  it('updates display name, avatar and bio, stamps updated_at, and clears with null', async () => {
    clock = 7_000;
    const r = await put({ display_name: '  Bob Builder ', avatar_url: 'https://img.example/b.png', bio: 'fixes things', unknown: 1 });
    expect(body<PublicProfile>(r)).toMatchObject({ display_name: 'Bob Builder', avatar_url: 'https://img.example/b.png', bio: 'fixes things', updated_at: 7_000 });
    expect(body<PublicProfile>(await get(`/v1/users/${ids.bob}`, ids.Ann))).toMatchObject({ display_name: 'Bob Builder', bio: 'fixes things' });
    clock = 8_000;
    expect(body<PublicProfile>(await put({ avatar_url: null, bio: '' }))).toMatchObject({ display_name: 'Bob Builder', avatar_url: null, bio: null, updated_at: 8_000 });
    expect(body(await put({ presence_visibility: 'nobody' }))).toMatchObject({ presence_visibility: 'nobody', display_name: 'Bob Builder' });
    expect(body(await put({ presence_visibility: 'everyone' }))).toMatchObject({ presence_visibility: 'everyone' });
  });

  it('refuses a bad profile with BAD_REQUEST and changes nothing', async () => {
    const before = body<PublicProfile>(await get('/v1/profile'));
    const refused = [
      {}, null, [], 'x',
      { display_name: '' }, { display_name: '   ' }, { display_name: 'x'.repeat(65) }, { display_name: 'a\u0000b' }, { display_name: 7 },
      { avatar_url: 'javascript:alert(1)' }, { avatar_url: 'data:image/png;base64,AAAA' }, { avatar_url: 'ftp://x.example/a' },
      { avatar_url: 'not a url' }, { avatar_url: `https://x.example/${'a'.repeat(510)}` }, { avatar_url: 'https://u:p@x.example/' }, { avatar_url: { $gt: '' } },
      { bio: 'b'.repeat(281) }, { bio: 5 }, { presence_visibility: 'all' }, { presence_visibility: { $gt: '' } },
    ];
    for (const patch of refused) expect(code(await put(patch)), JSON.stringify(patch)).toEqual([400, 'BAD_REQUEST']);
    expect(body(await get('/v1/profile'))).toEqual(before);
    // Bounds count characters, not UTF-16 units: 64 emoji are a valid name.
    expect((await put({ display_name: '😀'.repeat(64) })).status).toBe(200);
  });

  it('finds a user by id, exact username (any case) and many ids; an unknown one is USER_NOT_FOUND', async () => {
    const byName = await get('/v1/users?username=ANNA');
    expect(byName).toMatchObject({ status: 200, headers: { 'cache-control': 'private, max-age=60' } });
    expect(body<PublicProfile>(byName)).toMatchObject({ user_id: ids.anna, username: 'anna', display_name: 'anna D.' });
    expect(JSON.stringify(byName.body)).not.toContain('password');
    const many = body<{ users: PublicProfile[] }>(await get(`/v1/users?ids=${ids.Ann},${ids.anna},00000000-0000-4000-8000-000000000000`));
    expect(many.users.map((u) => u.username).sort()).toEqual(['Ann', 'anna']);
    expect(code(await get('/v1/users?username=nobody'))).toEqual([404, 'USER_NOT_FOUND']);
    expect(code(await get('/v1/users/00000000-0000-4000-8000-000000000000'))).toEqual([404, 'USER_NOT_FOUND']);
    expect(code(await get('/v1/users/a%7Cb'))).toEqual([404, 'USER_NOT_FOUND']);
  });

  it('searches by prefix in username order, a bounded page at a time', async () => {
    const names = (r: HttpResponse) => body<{ users: PublicProfile[] }>(r).users.map((u) => u.username);
    const first = await get('/v1/users?prefix=ANN');
    expect(names(first)).toEqual(['Ann', 'anna', 'annabel']);
    const next = body<{ next_after: string }>(first).next_after;
    expect(next).toBe('annabel');
    const second = await get(`/v1/users?prefix=ann&after=${next}`);
    expect(names(second)).toEqual(['annette', 'annie.x']);
    expect(body<{ next_after: string | null }>(second).next_after).toBeNull();
    expect(names(await get('/v1/users?prefix=anne&limit=1'))).toEqual(['annette']);
    expect(names(await get('/v1/users?prefix=zz'))).toEqual([]);
    // `.` is a literal, not a pattern.
    expect(names(await get('/v1/users?prefix=annie.'))).toEqual(['annie.x']);
    expect(names(await get('/v1/users?prefix=annie_'))).toEqual([]);
  });

  it('refuses malformed and injection-looking queries with BAD_REQUEST', async () => {
    for (const url of [
      '/v1/users', '/v1/users?username=bob&prefix=b', '/v1/users?prefix=', `/v1/users?prefix=${encodeURIComponent('{"$gt":""}')}`,
      `/v1/users?username=${encodeURIComponent('{"$gt":""}')}`, '/v1/users?prefix=a.*', '/v1/users?prefix=a&limit=4', '/v1/users?prefix=a&limit=0',
      '/v1/users?prefix=a&limit=1e1', '/v1/users?ids=', `/v1/users?ids=${['a', 'b', 'c', 'd'].join(',')}`, '/v1/users?ids=a%7Cb', '/v1/users?prefix=a&after=%24gt',
    ]) expect(code(await get(url)), url).toEqual([400, 'BAD_REQUEST']);
  });

  it('sends a friend request by username; an unknown name or id is USER_NOT_FOUND', async () => {
    const ok = await callRoute(routes, ids.bob!, 'POST', '/v1/friends/requests', { username: 'ANNETTE' });
    expect(ok.status).toBe(202);
    expect((await callRoute(routes, ids.bob!, 'POST', '/v1/friends/requests', { user_id: ids.anna })).status).toBe(202);
    expect(code(await callRoute(routes, ids.bob!, 'POST', '/v1/friends/requests', { username: 'nobody-here' }))).toEqual([404, 'USER_NOT_FOUND']);
    expect(code(await callRoute(routes, ids.bob!, 'POST', '/v1/friends/requests', { user_id: '00000000-0000-4000-8000-000000000000' }))).toEqual([404, 'USER_NOT_FOUND']);
    for (const b of [{ username: { $gt: '' } }, { username: '{"$gt":""}' }, { username: 'ann', user_id: ids.Ann }, { username: 'bob' }])
      expect(code(await callRoute(routes, ids.bob!, 'POST', '/v1/friends/requests', b)), JSON.stringify(b)).toEqual([400, 'BAD_REQUEST']);
  });
});
