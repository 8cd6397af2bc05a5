import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaObjectKey, newMediaId } from '../domain/media.js';
import type { Frame, TestClient } from '../edge/gateway/testing.js';
import { eventually } from '../streams/testing.js';
import { answer, befriend, ENGINES, newGroup, sendMsg, startPlatform, type Engine, type Platform, type User } from './harness.js';

/**
 * Media end to end (issue 12; docs/protocol.md#media), over HTTP, the object store and
 * WebSocket: a slot, the upload to its signed URL, a send that carries it, the recipient's
 * message and download; and every bad input refused with its own code, nothing of it left in
 * the store, the connection going on. The memory engine runs the local object store (the
 * platform's own blob routes), the Kafka engine the S3 one against SeaweedFS
 * (IM_S3_ENDPOINT_TEST, `ops/stack/up.sh s3`).
 */
const WAIT = 20_000;
const IMAGE_MAX = 4096;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
const png = (size: number): Buffer => Buffer.concat([PNG, Buffer.alloc(size - PNG.length, 7)]);
const jpeg = (size: number): Buffer => Buffer.concat([JPEG, Buffer.alloc(size - JPEG.length, 7)]);

interface Declared { kind: string; mime: string; size: number; name: string }
interface Slot { media_id: string; upload: { url: string; method: string; headers: Record<string, string>; expires_at: number }; max_size: number }

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function engineEnv(engine: Engine, dir: string): Promise<Record<string, string>> {
  const common = {
    IM_MEDIA_IMAGE_MAX_BYTES: String(IMAGE_MAX),
    IM_MEDIA_FILE_MAX_BYTES: '200000',
    IM_MEDIA_DAILY_QUOTA_BYTES: '150000',
    IM_MEDIA_UPLOAD_SLOTS_PER_WINDOW: '20',
    IM_MEDIA_UPLOAD_SLOT_WINDOW_SEC: '3600',
  };
  if (engine === 'kafka') return { ...common, IM_S3_ENDPOINT: process.env.IM_S3_ENDPOINT_TEST ?? 'http://127.0.0.1:8333' };
  // The local store signs URLs to the edge's own address, so the edge gets a known port.
  return { ...common, IM_MEDIA_DIR: dir, IM_EDGE_PORT: String(await freePort()) };
}

for (const engine of ENGINES) {
  describe(`media end to end on the ${engine} engine`, () => {
    let p: Platform;
    const dir = mkdtempSync(join(tmpdir(), 'im-media-e2e-'));
    beforeAll(async () => {
      p = await startPlatform(engine, await engineEnv(engine, dir));
    }, 120_000);
    afterAll(async () => {
      await p?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const slot = (u: User, d: Declared) => p.http<Slot & { error_code?: string }>('POST', '/v1/media/uploads', { token: u.token, body: d });
    const put = (s: Slot, body: Buffer) => fetch(s.upload.url, { method: s.upload.method, headers: s.upload.headers, body });
    /** A slot and its upload: the media id. */
    const upload = async (u: User, d: Declared, bytes: Buffer): Promise<string> => {
      const s = await slot(u, d);
      expect(s.status, JSON.stringify(s.body)).toBe(201);
      const res = await put(s.body, bytes);
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      return s.body.media_id;
    };
    const stored = (u: User, mediaId: string) => p.infra.objectStore.head(mediaObjectKey(u.id, mediaId));
    const mediaMsg = (to: string, items: (Declared & { id: string })[], caption = '') => ({ ...sendMsg(to, caption), content_type: items[0]!.kind, media: items });
    /** The connection goes on after a refusal: a plain send is acked. */
    const stillSends = async (c: TestClient, to: string) => expect(await answer(c, sendMsg(to, 'still here'))).toMatchObject({ type: 'ack' });
    const pair = async () => {
      const [alice, bob] = [await p.user('alice'), await p.user('bob')];
      await befriend(p, alice, bob);
      return { alice, bob, a: await alice.connect(), b: await bob.connect() };
    };

    it('slot, upload, send: the recipient gets the media and downloads it; a stranger may not; the id is one message\'s', async () => {
      const { alice, bob, a, b } = await pair();
      const carl = await p.user('carl');
      const bytes = png(1500);
      const item = { kind: 'image', mime: 'image/png', size: bytes.length, name: 'cat 🐱.png' };
      const s = await slot(alice, item);
      expect(s.status).toBe(201);
      expect(s.body).toMatchObject({ media_id: expect.stringMatching(/^m[0-9A-Za-z]{26}$/), upload: { method: 'PUT' }, max_size: IMAGE_MAX });
      expect((await put(s.body, bytes)).status).toBeLessThan(300);
      const id = s.body.media_id;

      const send = mediaMsg(bob.id, [{ id, ...item }], 'look');
      const ack = await answer(a, send, WAIT);
      expect(ack).toMatchObject({ type: 'ack' });
      const got = await b.next((f) => f.type === 'message' && f.client_msg_id === send.msg_id, WAIT);
      expect(got).toMatchObject({ content: 'look', content_type: 'image', media: [{ id, kind: 'image', mime: 'image/png', size: bytes.length, name: 'cat 🐱.png' }] });

      // Downloads are authorized from the query mirror of im.state.media: once it has the record.
      let download: { status: number; body: Record<string, unknown> } = { status: 0, body: {} };
      await eventually(async () => (download = await p.http('GET', `/v1/media/${id}`, { token: bob.token })).status === 200, 'download URL for the recipient', WAIT);
      expect(download.body).toMatchObject({ mime: 'image/png', name: 'cat 🐱.png', size: bytes.length, expires_at: expect.any(Number) });
      const fetched = await fetch(String(download.body.url));
      expect(fetched.status).toBe(200);
      expect(Buffer.from(await fetched.arrayBuffer()).equals(bytes)).toBe(true);
      expect((await p.http('GET', `/v1/media/${id}`, { token: alice.token })).status).toBe(200);
      expect(await p.http('GET', `/v1/media/${id}`, { token: carl.token })).toMatchObject({ status: 403, body: { error_code: 'FORBIDDEN' } });
      expect(await p.http('GET', `/v1/media/${newMediaId()}`, { token: bob.token })).toMatchObject({ status: 404, body: { error_code: 'MEDIA_NOT_FOUND' } });
      expect(await p.http('GET', `/v1/media/${id}?variant=thumbnail`, { token: bob.token })).toMatchObject({ status: 404, body: { error_code: 'MEDIA_NOT_FOUND' } });

      // History carries the media too.
      const conversation = String(ack.conversation_id);
      await eventually(async () => {
        const h = await p.http<{ messages: Frame[] }>('GET', `/v1/conversations/${encodeURIComponent(conversation)}/messages?after_seq=0`, { token: bob.token });
        return JSON.stringify(h.body.messages ?? []).includes(id);
      }, 'media in history', WAIT);

      // A resend of the same msg_id is the same message; another message may not take the id.
      expect(await answer(a, send, WAIT)).toMatchObject({ type: 'ack', sequence_number: ack.sequence_number });
      expect(await answer(a, mediaMsg(bob.id, [{ id, ...item }]), WAIT)).toMatchObject({ type: 'error', error_code: 'MEDIA_IN_USE' });
      expect(await stored(alice, id)).not.toBeNull();
      await stillSends(a, bob.id);
    });

    it('in a group: a current member downloads, one removed no longer may', async () => {
      const { owner, members: [mia, max], groupId } = await newGroup(p, 'own', ['mia', 'max'] as const);
      const [o, m] = [await owner.connect(), await mia.connect()];
      const bytes = Buffer.from('minutes of the meeting\n', 'utf8');
      const item = { kind: 'file', mime: 'text/plain', size: bytes.length, name: 'minutes.txt' };
      const id = await upload(owner, item, bytes);
      const send = { ...mediaMsg(groupId, [{ id, ...item }]), recipient_type: 'group' };
      expect(await answer(o, send, WAIT)).toMatchObject({ type: 'ack' });
      expect(await m.next((f) => f.type === 'message' && f.client_msg_id === send.msg_id, WAIT)).toMatchObject({ content_type: 'file', media: [{ id, name: 'minutes.txt' }] });
      await eventually(async () => (await p.http('GET', `/v1/media/${id}`, { token: max.token })).status === 200, 'a member downloads', WAIT);
      expect((await p.http('DELETE', `/v1/groups/${groupId}/members/${max.id}`, { token: owner.token })).status).toBe(202);
      await eventually(async () => (await p.http('GET', `/v1/media/${id}`, { token: max.token })).status === 403, 'a removed member may not', WAIT);
      expect((await p.http('GET', `/v1/media/${id}`, { token: mia.token })).status).toBe(200);
    });

    it('refuses at the slot what may not be uploaded: too large, a type not allowed, no bytes, a bad name, over the rate and the quota', async () => {
      const { alice, bob, a } = await pair();
      expect(await slot(alice, { kind: 'image', mime: 'image/png', size: IMAGE_MAX + 1, name: 'big.png' })).toMatchObject({ status: 413, body: { error_code: 'MEDIA_TOO_LARGE' } });
      expect(await slot(alice, { kind: 'image', mime: 'image/bmp', size: 100, name: 'a.bmp' })).toMatchObject({ status: 415, body: { error_code: 'MEDIA_TYPE_NOT_ALLOWED' } });
      expect(await slot(alice, { kind: 'file', mime: 'application/x-msdownload', size: 100, name: 'a.exe' })).toMatchObject({ status: 415, body: { error_code: 'MEDIA_TYPE_NOT_ALLOWED' } });
      expect(await slot(alice, { kind: 'image', mime: 'image/png', size: 0, name: 'empty.png' })).toMatchObject({ status: 400, body: { error_code: 'MEDIA_EMPTY' } });
      for (const name of ['../etc/passwd', 'a\\b.png', 'bell\u0007.png', 'line\nbreak.png', '..', '', 'x'.repeat(256)])
        expect(await slot(alice, { kind: 'image', mime: 'image/png', size: 10, name }), name).toMatchObject({ status: 400, body: { error_code: 'MEDIA_BAD_NAME' } });
      expect(await slot(alice, { kind: 'sticker', mime: 'image/png', size: 10, name: 'a.png' } as Declared)).toMatchObject({ status: 400, body: { error_code: 'BAD_REQUEST' } });

      // The daily quota (150,000 bytes) counts what the slots granted.
      expect((await slot(alice, { kind: 'file', mime: 'application/pdf', size: 140_000, name: 'a.pdf' })).status).toBe(201);
      expect(await slot(alice, { kind: 'file', mime: 'application/pdf', size: 20_000, name: 'b.pdf' })).toMatchObject({ status: 429, body: { error_code: 'MEDIA_QUOTA_EXCEEDED' } });
      // The rate (20 slots a window) counts every slot asked for, granted or not.
      const carl = await p.user('carl');
      for (let i = 0; i < 20; i++) expect((await slot(carl, { kind: 'image', mime: 'image/png', size: 10, name: `${i}.png` })).status).toBe(201);
      expect(await slot(carl, { kind: 'image', mime: 'image/png', size: 10, name: 'one-more.png' })).toMatchObject({ status: 429, body: { error_code: 'TOO_MANY_REQUESTS' } });
      await stillSends(a, bob.id);
    });

    it('refuses a send whose media is not what it says, deletes the lying object, and goes on', async () => {
      const { alice, bob, a } = await pair();
      // Declared PNG, uploaded JPEG bytes (the store takes the declared type): MEDIA_MISMATCH, gone.
      const liar = await upload(alice, { kind: 'image', mime: 'image/png', size: 800, name: 'not-a.png' }, jpeg(800));
      expect(await answer(a, mediaMsg(bob.id, [{ id: liar, kind: 'image', mime: 'image/png', size: 800, name: 'not-a.png' }]), WAIT)).toMatchObject({ type: 'error', error_code: 'MEDIA_MISMATCH' });
      expect(await stored(alice, liar)).toBeNull();
      // A size other than the one uploaded: MEDIA_MISMATCH, gone.
      const resized = await upload(alice, { kind: 'image', mime: 'image/png', size: 900, name: 'a.png' }, png(900));
      expect(await answer(a, mediaMsg(bob.id, [{ id: resized, kind: 'image', mime: 'image/png', size: 800, name: 'a.png' }]), WAIT)).toMatchObject({ type: 'error', error_code: 'MEDIA_MISMATCH' });
      expect(await stored(alice, resized)).toBeNull();
      // A type other than the one uploaded: MEDIA_MISMATCH, gone.
      const retyped = await upload(alice, { kind: 'image', mime: 'image/png', size: 700, name: 'a.png' }, png(700));
      expect(await answer(a, mediaMsg(bob.id, [{ id: retyped, kind: 'image', mime: 'image/jpeg', size: 700, name: 'a.jpg' }]), WAIT)).toMatchObject({ type: 'error', error_code: 'MEDIA_MISMATCH' });
      expect(await stored(alice, retyped)).toBeNull();
      // A declared size over the kind's limit is refused before the store is asked.
      const small = await upload(alice, { kind: 'image', mime: 'image/png', size: 600, name: 'a.png' }, png(600));
      expect(await answer(a, mediaMsg(bob.id, [{ id: small, kind: 'image', mime: 'image/png', size: IMAGE_MAX + 1, name: 'a.png' }]), WAIT)).toMatchObject({ type: 'error', error_code: 'MEDIA_TOO_LARGE' });
      await stillSends(a, bob.id);
    });

    it('refuses ids that are not the sender\'s uploads, and bad declarations, each with its code and its msg_id', async () => {
      const { alice, bob, a } = await pair();
      const carl = await p.user('carl');
      const item = { kind: 'image', mime: 'image/png', size: 500, name: 'a.png' };
      // Another user's upload: not found (nothing told about whose it is), and left alone.
      const carls = await upload(carl, item, png(500));
      expect(await answer(a, mediaMsg(bob.id, [{ id: carls, ...item }]), WAIT)).toMatchObject({ type: 'error', error_code: 'MEDIA_NOT_FOUND' });
      expect(await stored(carl, carls)).not.toBeNull();
      expect(await stored(alice, carls)).toBeNull();
      // Never uploaded.
      const never = newMediaId();
      const refused = mediaMsg(bob.id, [{ id: never, ...item }]);
      expect(await answer(a, refused, WAIT)).toMatchObject({ type: 'error', error_code: 'MEDIA_NOT_FOUND', msg_id: refused.msg_id });
      expect(await stored(alice, never)).toBeNull();
      // An upload URL used after it expired: the store refuses the bytes, the send finds nothing.
      const late = newMediaId();
      const grant = await p.infra.objectStore.presignUpload(mediaObjectKey(alice.id, late), { size: 500, contentType: 'image/png', expiresInSec: 1 });
      await eventually(() => Date.now() > grant.expiresAt + 1_000, 'the upload URL expired', 5_000);
      const tooLate = await fetch(grant.url, { method: grant.method, headers: grant.headers, body: png(500) });
      expect(tooLate.status).toBeGreaterThanOrEqual(400);
      expect(await stored(alice, late)).toBeNull();
      expect(await answer(a, mediaMsg(bob.id, [{ id: late, ...item }]), WAIT)).toMatchObject({ type: 'error', error_code: 'MEDIA_NOT_FOUND' });

      // Declarations the router refuses, the uploaded object untouched for a corrected send.
      const mine = await upload(alice, item, png(500));
      for (const name of ['dir/a.png', 'back\\slash.png', 'nul\u0000.png', 'esc\u001b.png'])
        expect(await answer(a, mediaMsg(bob.id, [{ id: mine, ...item, name }]), WAIT), name).toMatchObject({ type: 'error', error_code: 'MEDIA_BAD_NAME' });
      expect(await answer(a, mediaMsg(bob.id, [{ id: mine, ...item, size: 0 }]), WAIT)).toMatchObject({ type: 'error', error_code: 'MEDIA_EMPTY' });
      expect(await answer(a, mediaMsg(bob.id, [{ id: mine, ...item, mime: 'image/bmp' }]), WAIT)).toMatchObject({ type: 'error', error_code: 'MEDIA_TYPE_NOT_ALLOWED' });
      const malformed = [
        { ...sendMsg(bob.id, ''), content_type: 'image', media: [] },
        { ...sendMsg(bob.id, ''), content_type: 'image', media: [{ id: 'not-an-id', ...item }] },
        { ...sendMsg(bob.id, ''), content_type: 'file', media: [{ id: mine, ...item }] },
        { ...sendMsg(bob.id, ''), content_type: 'image', media: [{ id: mine, ...item, size: 2 ** 53 }] },
        { ...sendMsg(bob.id, ''), content_type: 'image', media: Array.from({ length: 11 }, () => ({ id: newMediaId(), ...item })) },
        { ...sendMsg(bob.id, ''), content_type: 'image', media: [{ id: mine, ...item }, { id: mine, ...item }] },
      ];
      for (const f of malformed) expect(await answer(a, f, WAIT), JSON.stringify(f.media).slice(0, 80)).toMatchObject({ type: 'error', error_code: 'MALFORMED_FRAME', msg_id: f.msg_id });
      // The corrected send goes through with the same upload.
      expect(await answer(a, mediaMsg(bob.id, [{ id: mine, ...item }]), WAIT)).toMatchObject({ type: 'ack' });
      await stillSends(a, bob.id);
    });
  });
}
