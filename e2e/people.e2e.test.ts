import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, TestClient } from '../edge/gateway/testing.js';
import { befriend, ENGINES, startPlatform, type Platform, type User } from './harness.js';

/**
 * Profiles and presence of people end to end, on both engines (issue 11, items 6 and 7): a
 * friend request by username or to nobody; presence over two gateways (Redis on the Kafka
 * stack), with a second device, away, offline and last seen; a friend who was offline asks on
 * reconnect; each user's visibility setting; the refusals.
 */
const WAIT = 20_000;
const about = (user: User, state?: string) => (f: Frame) => f.type === 'presence' && f.user === user.id && (state === undefined || f.state === state);

for (const engine of ENGINES) {
  describe(`people end to end on the ${engine} engine`, () => {
    let p: Platform;
    beforeAll(async () => {
      p = await startPlatform(engine, { IM_PRESENCE_WINDOW_MS: '100' });
    }, 120_000);
    afterAll(async () => {
      await p?.stop();
    });

    const presenceOf = async (viewer: User, ...users: User[]) =>
      (await p.http<{ presence: { user_id: string; state: string; last_seen: number | null }[] }>('GET', `/v1/presence?ids=${users.map((u) => u.id).join(',')}`, { token: viewer.token })).body.presence;

    it('a friend request goes to a username; a name or id nobody has is USER_NOT_FOUND', async () => {
      const [alice, bob] = [await p.user('alice'), await p.user('bob')];
      const { body: found } = await p.http<{ username: string; display_name: string }>('GET', `/v1/users/${bob.id}`, { token: alice.token });
      const asked = await p.http('POST', '/v1/friends/requests', { token: alice.token, body: { username: found.username.toUpperCase() } });
      expect(asked.status).toBe(202);
      // Decided by the relations processor; the mirror shows it once applied.
      await expect.poll(async () => (await p.http<{ incoming: string[] }>('GET', '/v1/friends', { token: bob.token })).body.incoming, { timeout: WAIT }).toContain(alice.id);
      expect(await p.http('POST', '/v1/friends/requests', { token: alice.token, body: { username: `nobody-${Date.now()}` } })).toMatchObject({ status: 404, body: { error_code: 'USER_NOT_FOUND' } });
      expect(await p.http('POST', '/v1/friends/requests', { token: alice.token, body: { user_id: '00000000-0000-4000-8000-000000000000' } })).toMatchObject({ status: 404, body: { error_code: 'USER_NOT_FOUND' } });
      expect(await p.http('POST', '/v1/friends/requests', { token: alice.token, body: { username: { $gt: '' } } })).toMatchObject({ status: 400, body: { error_code: 'BAD_REQUEST' } });
    });

    it('a profile change is what everyone reads next; search finds people by the start of their username', async () => {
      const [alice, bob] = [await p.user('alice'), await p.user('bob')];
      const { body: mine } = await p.http<{ username: string; updated_at: number }>('GET', '/v1/profile', { token: alice.token });
      const changed = await p.http<{ display_name: string; updated_at: number }>('PUT', '/v1/profile', { token: alice.token, body: { display_name: 'Alice in Wonderland', avatar_url: 'https://img.example/alice.png', bio: 'curious' } });
      expect(changed.body).toMatchObject({ display_name: 'Alice in Wonderland' });
      expect(changed.body.updated_at).toBeGreaterThanOrEqual(mine.updated_at);
      // Any other reader, however long it was away, reads the new profile.
      const { body: read } = await p.http<{ users: unknown[] }>('GET', `/v1/users?ids=${alice.id},${bob.id}`, { token: bob.token });
      expect(read.users).toContainEqual(expect.objectContaining({ user_id: alice.id, display_name: 'Alice in Wonderland', avatar_url: 'https://img.example/alice.png', bio: 'curious' }));
      const { body: found } = await p.http<{ users: { user_id: string }[] }>('GET', `/v1/users?prefix=${mine.username.slice(0, -2)}`, { token: bob.token });
      expect(found.users.map((u) => u.user_id)).toContain(alice.id);
      expect(await p.http('PUT', '/v1/profile', { token: alice.token, body: { avatar_url: 'file:///etc/passwd' } })).toMatchObject({ status: 400, body: { error_code: 'BAD_REQUEST' } });
      expect(await p.http('GET', '/v1/users/00000000-0000-4000-8000-000000000000', { token: bob.token })).toMatchObject({ status: 404, body: { error_code: 'USER_NOT_FOUND' } });
    });

    it('friends see online, away and offline with last seen over two gateways; one offline meanwhile asks on reconnect', async () => {
      const [alice, bob, carol] = [await p.user('alice'), await p.user('bob'), await p.user('carol')];
      await befriend(p, alice, bob);
      const other = await p.anotherGateway();
      const [b1, c1] = [await bob.connect(), await carol.connect()];
      const a1 = await alice.connect('phone');
      expect(await b1.next(about(alice), WAIT)).toMatchObject({ state: 'online', last_seen: null });
      a1.send({ type: 'presence', status: 'away' });
      await b1.next(about(alice, 'away'), WAIT);
      // A second device on the other gateway, active: online again.
      const a2 = await alice.connect('laptop', other.wsUrl);
      await b1.next(about(alice, 'online'), WAIT);
      // The phone goes: alice is still online (nothing to tell); then the laptop is away.
      a1.close();
      a2.send({ type: 'presence', status: 'away' });
      expect((await b1.next(about(alice), WAIT)).state).toBe('away');
      // Bob goes offline; alice leaves meanwhile; bob comes back and asks.
      b1.close();
      const left = Date.now();
      a2.close();
      await expect.poll(async () => (await presenceOf(bob, alice))[0]?.state, { timeout: WAIT }).toBe('offline');
      const [seen] = await presenceOf(bob, alice);
      expect(seen!.last_seen).toBeGreaterThanOrEqual(left - 1_000);
      const b2 = await bob.connect();
      expect(await presenceOf(bob, alice)).toEqual([seen]);
      // A stranger neither gets frames nor may ask (friends only, the default).
      expect(await presenceOf(carol, alice)).toEqual([{ user_id: alice.id, state: 'hidden', last_seen: null }]);
      expect(c1.frames.filter(about(alice))).toEqual([]);
      // Bad input.
      const b3 = await alice.connect('tablet');
      b3.send({ type: 'presence', status: 'busy', msg_id: 'p-1' });
      expect(await b3.next((f) => f.type === 'error', WAIT)).toMatchObject({ error_code: 'MALFORMED_FRAME', msg_id: 'p-1' });
      for (const q of ['', `?ids=${Array.from({ length: 51 }, (_, i) => `u${i}`).join(',')}`, '?ids=a%7Cb'])
        expect(await p.http('GET', `/v1/presence${q}`, { token: bob.token })).toMatchObject({ status: 400, body: { error_code: 'BAD_REQUEST' } });
      b2.close();
      b3.close();
      await other.stop();
    });

    it('each user chooses who sees their presence: everyone, friends, nobody', async () => {
      const [alice, bob, carol] = [await p.user('alice'), await p.user('bob'), await p.user('carol')];
      await befriend(p, alice, bob);
      const b1 = await bob.connect();
      const a1 = await alice.connect();
      await b1.next(about(alice, 'online'), WAIT);
      const set = (v: string) => p.http('PUT', '/v1/profile', { token: alice.token, body: { presence_visibility: v } });
      expect((await set('everyone')).body).toMatchObject({ presence_visibility: 'everyone' });
      expect(await presenceOf(carol, alice)).toEqual([{ user_id: alice.id, state: 'online', last_seen: null }]);
      expect((await set('nobody')).status).toBe(200);
      // Bob is told he sees nothing now; asking shows the same; alice still sees herself.
      await b1.next(about(alice, 'hidden'), WAIT);
      expect(await presenceOf(bob, alice)).toEqual([{ user_id: alice.id, state: 'hidden', last_seen: null }]);
      expect(await presenceOf(alice, alice)).toEqual([{ user_id: alice.id, state: 'online', last_seen: null }]);
      expect(await set('sometimes')).toMatchObject({ status: 400, body: { error_code: 'BAD_REQUEST' } });
      expect((await set('friends')).status).toBe(200);
      await b1.next(about(alice, 'online'), WAIT);
      a1.close();
      b1.close();
    });
  });
}
