import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, TestClient } from '../edge/gateway/testing.js';
import { eventually } from '../streams/testing.js';
import { befriend, createGroup, ENGINES, sendMsg, startPlatform, topicRecords, type Platform } from './harness.js';

/**
 * Issue 4's scenarios end to end, over WebSocket and HTTP only, on both engines: the same
 * code that `make run` starts, and the same code on Kafka + Redis + MongoDB.
 */
const chats = (c: TestClient, conversation?: string) => (f: Frame) => f.type === 'message' && String(f.content_type ?? 'text') === 'text' && (!conversation || f.conversation_id === conversation);

for (const engine of ENGINES) {
  describe(`chat end to end on the ${engine} engine`, () => {
    let p: Platform;
    beforeAll(async () => {
      p = await startPlatform(engine);
    }, 120_000);
    afterAll(async () => {
      await p?.stop();
    });

    it('two users chat 1:1 both ways; acks carry the sequence number', async () => {
      const [alice, bob] = [await p.user('alice'), await p.user('bob')];
      await befriend(p, alice, bob);
      const [a, b] = [await alice.connect(), await bob.connect()];
      a.send(sendMsg(bob.id, 'hi bob', 'user', 'a-1'));
      const ack1 = await a.next((f) => f.type === 'ack' && f.msg_id === 'a-1', 20_000);
      const got1 = await b.next(chats(b), 20_000);
      expect(got1).toMatchObject({ sender: alice.id, content: 'hi bob', client_msg_id: 'a-1', sequence_number: ack1.sequence_number });
      b.send(sendMsg(alice.id, 'hi alice', 'user', 'b-1'));
      const ack2 = await b.next((f) => f.type === 'ack' && f.msg_id === 'b-1', 20_000);
      const got2 = await a.next(chats(a), 20_000);
      expect(got2).toMatchObject({ sender: bob.id, content: 'hi alice', sequence_number: ack2.sequence_number });
      expect(ack2.sequence_number).toBe(Number(ack1.sequence_number) + 1);
      expect(got2.conversation_id).toBe(got1.conversation_id);
    });

    it('a retried msg_id gets the same seq and is delivered once; blocked senders are refused', async () => {
      const [ann, ben] = [await p.user('ann'), await p.user('ben')];
      await befriend(p, ann, ben);
      const [a, b] = [await ann.connect(), await ben.connect()];
      a.send(sendMsg(ben.id, 'once', 'user', 'dup-1'));
      const first = await a.next((f) => f.type === 'ack' && f.msg_id === 'dup-1', 20_000);
      await b.next(chats(b), 20_000);
      a.send(sendMsg(ben.id, 'once', 'user', 'dup-1'));
      const second = await a.next((f) => f.type === 'ack' && f.msg_id === 'dup-1', 20_000);
      expect(second.sequence_number).toBe(first.sequence_number);
      expect(second.server_msg_id).toBe(first.server_msg_id);
      a.send(sendMsg(ben.id, 'marker', 'user', 'after-dup'));
      const next = await b.next(chats(b), 20_000);
      expect(next.content).toBe('marker'); // the duplicate never arrived before it
      expect(b.frames.filter((f) => f.type === 'message' && f.client_msg_id === 'dup-1')).toHaveLength(0);

      expect((await p.http('POST', `/v1/blocks/${ann.id}`, { token: ben.token })).status).toBe(202);
      await eventually(async () => {
        a.send(sendMsg(ben.id, 'are you there?'));
        const reply = await a.next((f) => f.type === 'error' || f.type === 'ack', 20_000);
        return reply.type === 'error' && reply.error_code === 'BLOCKED';
      }, 'BLOCKED once the block is applied', 20_000);
    });

    it('a group of 50 with a third offline: online members get every message in order, offline ones get push tasks and sync it all', async () => {
      const owner = await p.user('owner');
      const members = await Promise.all(Array.from({ length: 49 }, (_, i) => p.user(`m${i}`)));
      const groupId = await createGroup(p, owner, members);
      const conversation = `g:${groupId}`;
      const offline = members.slice(0, 16);
      const online = members.slice(16);
      const clients = await Promise.all(online.map((m) => m.connect()));
      const sender = await owner.connect();
      // Memberships reach the delivery tables asynchronously (compacted topic -> tables): one
      // message every online member receives shows they have, before the counted stream.
      sender.send(sendMsg(groupId, 'warm-up', 'group', 'grp-warm-up'));
      for (const c of clients) expect((await c.next(chats(c, conversation), 30_000)).content).toBe('warm-up');
      const N = 15;
      for (let i = 0; i < N; i++) sender.send(sendMsg(groupId, `g${i}`, 'group', `grp-${i}`));
      for (let i = 0; i < N; i++) await sender.next((f) => f.type === 'ack' && f.msg_id === `grp-${i}`, 30_000);
      for (const c of clients) {
        const got: Frame[] = [];
        for (let i = 0; i < N; i++) got.push(await c.next(chats(c, conversation), 30_000));
        expect(got.map((f) => f.content)).toEqual(Array.from({ length: N }, (_, i) => `g${i}`));
        const seqs = got.map((f) => Number(f.sequence_number));
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      }
      await eventually(async () => {
        const tasks = await topicRecords(p, 'im.push.offline');
        const offlineIds = new Set(offline.map((m) => m.id));
        const chatTasks = tasks.filter((t) => t.conversationId === conversation && offlineIds.has(t.userId) && t.preview.startsWith('g'));
        return chatTasks.length >= offline.length * N;
      }, 'offline push tasks for every offline member and message', 30_000);
      for (const m of offline.slice(0, 4)) {
        const c = await m.connect();
        c.send({ type: 'sync', conversation_id: conversation, after_seq: 0, limit: 100 });
        const result = await c.next((f) => f.type === 'sync_result' && f.conversation_id === conversation, 20_000);
        const contents = (result.messages as Frame[]).filter((f) => f.content_type === 'text').map((f) => f.content);
        expect(contents).toEqual(['warm-up', ...Array.from({ length: N }, (_, i) => `g${i}`)]);
      }
    });

    it('group delivery follows membership: join then receive, kick and leave then not, a reconnect to another gateway receives there and syncs the gap, disband', async () => {
      const [owner, stay, kicked, leaver, joiner] = [await p.user('gown'), await p.user('stay'), await p.user('kicked'), await p.user('leaver'), await p.user('joiner')];
      const groupId = await createGroup(p, owner, [stay, kicked, leaver]);
      const conversation = `g:${groupId}`;
      const [o, s, k, l, j] = [await owner.connect(), await stay.connect(), await kicked.connect(), await leaver.connect(), await joiner.connect()];
      const notice = (event: string) => (f: Frame) => f.type === 'message' && f.conversation_id === conversation && f.content_type === `system/${event}`;
      const text = (content: string) => (f: Frame) => f.type === 'message' && f.conversation_id === conversation && f.content === content;
      /** Everything the gateway wrote to `c` before this is in: a heartbeat answer comes after it on the socket. */
      const drained = async (c: TestClient) => {
        c.send({ type: 'heartbeat' });
        await c.nextOfType('heartbeat', 20_000);
      };
      o.send(sendMsg(groupId, 'warm-up', 'group', 'mem-warm'));
      for (const c of [s, k, l]) await c.next(text('warm-up'), 30_000);

      // Join: the joiner gets the notice of their own join, then every message.
      expect((await p.http('POST', `/v1/groups/${groupId}/members`, { token: owner.token, body: { user_ids: [joiner.id] } })).status).toBe(202);
      await j.next(notice('members_added'), 30_000);
      o.send(sendMsg(groupId, 'after-join', 'group', 'mem-join'));
      for (const c of [s, k, l, j]) await c.next(text('after-join'), 30_000);

      // Kick: the kicked member gets neither the notice nor anything after it.
      expect((await p.http('DELETE', `/v1/groups/${groupId}/members/${kicked.id}`, { token: owner.token })).status).toBe(202);
      await s.next(notice('members_removed'), 30_000);
      o.send(sendMsg(groupId, 'after-kick', 'group', 'mem-kick'));
      for (const c of [s, l, j]) await c.next(text('after-kick'), 30_000);
      await drained(k);
      expect(k.frames.filter((f) => notice('members_removed')(f) || text('after-kick')(f))).toEqual([]);

      // Leave: the leaver's own device gets the notice of their leave, nothing after it.
      expect((await p.http('POST', `/v1/groups/${groupId}/leave`, { token: leaver.token })).status).toBe(202);
      await s.next(notice('member_left'), 30_000);
      await l.next(notice('member_left'), 30_000);
      o.send(sendMsg(groupId, 'after-leave', 'group', 'mem-leave'));
      for (const c of [s, j]) await c.next(text('after-leave'), 30_000);
      await drained(l);
      expect(l.frames.filter(text('after-leave'))).toEqual([]);

      // Reconnect to another gateway: what was sent in between comes by sync, the rest live there.
      j.close();
      await j.waitClosed();
      o.send(sendMsg(groupId, 'while-away', 'group', 'mem-away'));
      await s.next(text('while-away'), 30_000);
      const other = await p.anotherGateway();
      const j2 = await joiner.connect('web', other.wsUrl);
      await drained(j2);
      o.send(sendMsg(groupId, 'after-reconnect', 'group', 'mem-back'));
      const live = await j2.next(text('after-reconnect'), 30_000);
      // The gap by sync, once the writer has stored it.
      let synced: Frame[] = [];
      await eventually(async () => {
        j2.send({ type: 'sync', conversation_id: conversation, after_seq: 0, limit: 100 });
        const page = await j2.next((f) => f.type === 'sync_result' && f.conversation_id === conversation, 20_000);
        synced = (page.messages as Frame[]).filter((f) => f.content_type === 'text');
        return synced.some((f) => f.content === 'while-away');
      }, 'the message sent while away in a sync', 30_000);
      expect(synced.map((f) => f.content).slice(0, 5)).toEqual(['warm-up', 'after-join', 'after-kick', 'after-leave', 'while-away']);
      expect(Number(live.sequence_number)).toBeGreaterThan(Number(synced[4]!.sequence_number));

      // Disband: the notice reaches the members on both gateways, then the conversation is gone from routing.
      expect((await p.http('DELETE', `/v1/groups/${groupId}`, { token: owner.token })).status).toBe(202);
      await j2.next(notice('group_disbanded'), 30_000);
      await s.next(notice('group_disbanded'), 30_000);
      await eventually(async () => !((await p.infra.presence.conversationsOf(stay.id, 'e2e-probe')) ?? [conversation]).includes(conversation), 'the disbanded group forgotten by routing', 20_000);
      o.send(sendMsg(groupId, 'after-disband', 'group', 'mem-gone'));
      expect(await o.next((f) => f.type === 'error' && f.msg_id === 'mem-gone', 20_000)).toMatchObject({ error_code: 'GROUP_DISBANDED' });
      await other.stop();
    });

    it('refuses non-members and muted members with their codes', async () => {
      const [owner, muted, outsider] = [await p.user('gowner'), await p.user('muted'), await p.user('outsider')];
      const groupId = await createGroup(p, owner, [muted]);
      const until = Date.now() + 3_600_000;
      expect((await p.http('POST', `/v1/groups/${groupId}/members/${muted.id}/mute`, { token: owner.token, body: { until } })).status).toBe(202);
      const [m, o] = [await muted.connect(), await outsider.connect()];
      o.send(sendMsg(groupId, 'let me in', 'group', 'out-1'));
      expect(await o.next((f) => f.type === 'error', 20_000)).toMatchObject({ error_code: 'NOT_A_MEMBER', msg_id: 'out-1' });
      await eventually(async () => {
        m.send(sendMsg(groupId, 'hello?', 'group'));
        const reply = await m.next((f) => f.type === 'error' || f.type === 'ack', 20_000);
        return reply.type === 'error' && reply.error_code === 'MUTED';
      }, 'MUTED once the mute is applied', 20_000);
    });

    it('keeps unread counts and sends read receipts', async () => {
      const [sam, tom] = [await p.user('sam'), await p.user('tom')];
      await befriend(p, sam, tom);
      const s = await sam.connect();
      for (let i = 0; i < 3; i++) s.send(sendMsg(tom.id, `unread ${i}`, 'user', `u-${i}`));
      let lastSeq = 0;
      for (let i = 0; i < 3; i++) lastSeq = Number((await s.next((f) => f.type === 'ack' && f.msg_id === `u-${i}`, 20_000)).sequence_number);
      type Conversations = { conversations: { conversation_id: string; unread_count: number; max_seq: number }[] };
      let conversationId = '';
      await eventually(async () => {
        const list = await p.http<Conversations>('GET', '/v1/conversations', { token: tom.token });
        const conv = list.body.conversations?.find((c) => c.max_seq === lastSeq);
        if (conv) conversationId = conv.conversation_id;
        return conv !== undefined && conv.unread_count >= 3;
      }, 'three unread for tom', 20_000);
      const t = await tom.connect();
      t.send({ type: 'read', conversation_id: conversationId, seq: lastSeq });
      const receipt = await s.next((f) => f.type === 'receipt', 20_000);
      expect(receipt).toMatchObject({ kind: 'read', user: tom.id, seq: lastSeq, conversation_id: conversationId });
      await eventually(async () => {
        const list = await p.http<Conversations>('GET', '/v1/conversations', { token: tom.token });
        return list.body.conversations.find((c) => c.conversation_id === conversationId)?.unread_count === 0;
      }, 'no unread after reading', 20_000);
    });
  });
}
