import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryMessageStore } from '../../connectors/message-store/message-store-memory.js';
import { createLocalObjectStore, type LocalObjectStore } from '../../connectors/object-store/object-store-local.js';
import type { ObjectStore } from '../../connectors/object-store/object-store.js';
import { loadConfig } from '../../core/config.js';
import { mediaObjectKey, newMediaId, thumbnailObjectKey } from '../../domain/media.js';
import { messageFrame } from '../../protocol/server-frames.js';
import type { MediaConfig } from './media.js';
import { mediaProcessor } from './media.js';
import { persistence } from './persistence.js';
import { startSendPath } from './send-path.testing.js';

/**
 * The media processor on the test driver, after the real send path (router → message logic with
 * its media check → stamper) and beside persistence, over a local-directory object store on a
 * temporary directory. The driver starts at the wall clock's time, since the store stamps
 * objects with it, and the janitor runs only when a test moves the clock (`advanceWallClockTime`).
 */
const base = loadConfig({}).media;
const lifecycle = { recallGraceSec: 600, pendingTimeoutSec: 3_600, retentionDays: 0, janitorIntervalSec: 60 };
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function start(overrides: Partial<MediaConfig['lifecycle']> = {}, mediaStore: (s: LocalObjectStore) => ObjectStore = (s) => s) {
  const dir = await mkdtemp(join(tmpdir(), 'im-media-test-'));
  dirs.push(dir);
  const store: LocalObjectStore = createLocalObjectStore({ dir, baseUrl: 'http://127.0.0.1:1', signingKey: 'media-test' });
  const messages = createMemoryMessageStore();
  const config: MediaConfig = { limits: base.limits, lifecycle: { ...lifecycle, ...overrides } };
  const path = await startSendPath(undefined, undefined, {
    logic: { media: { store, limits: base.limits, timeoutMs: 5_000 } },
    more: (t) => t.processor('media', mediaProcessor({ store: mediaStore(store) }, config)).processor('persistence', persistence({ store: messages }, { maxItems: 100 })),
    startTime: Date.now(),
  });
  const { driver, frame } = path;

  /** An object amy uploaded, as the upload slot's PUT leaves it. */
  const upload = async (bytes: Buffer, mime = 'image/png') => {
    const id = newMediaId();
    await store.put(mediaObjectKey('amy', id), bytes, mime);
    return { id, kind: mime.startsWith('image/') ? 'image' : 'file', mime, size: bytes.length, name: 'photo.png' };
  };
  /** amy sends bo a message carrying `item`; its seq and server id. */
  const sendMedia = async (item: Awaited<ReturnType<typeof upload>>) => {
    const a = await frame('amy', { type: 'send_msg', recipient: 'bo', recipient_type: 'user', content: '', content_type: item.kind, media: [item], timestamp: 1 });
    expect(a.type).toBe('ack');
    return { seq: a.sequence_number!, id: a.server_msg_id! };
  };
  const state = (mediaId: string) => driver.state('im.state.media').get(mediaId);
  const exists = async (key: string) => (await store.head(key)) !== null;
  return { ...path, store, messages, upload, sendMedia, state, exists };
}

const png = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer();
const d = 'd:amy:bo';

describe('media processor', () => {
  it('measures an image, puts a WebP thumbnail and stamps MEDIA_READY targeting the message; history shows it', async () => {
    const { driver, upload, sendMedia, state, store, messages, events } = await start();
    const item = await upload(await png(640, 480));
    const sent = await sendMedia(item);

    const thumbnailKey = thumbnailObjectKey('amy', item.id);
    expect(state(item.id)).toMatchObject({ status: 'ATTACHED', seq: sent.seq, messageId: sent.id, width: 640, height: 480, thumbnailKey });
    const thumbnail = await store.read(thumbnailKey, 1_000_000);
    expect(await sharp(thumbnail!).metadata()).toMatchObject({ format: 'webp', width: 320, height: 240 });

    const [ready] = events();
    expect(ready).toMatchObject({ conversationId: d, seq: sent.seq + 1, sender: 'amy', origin: null, contentType: 'system/media_ready', action: { kind: 'MEDIA_READY', targetSeq: sent.seq, targetMessageId: sent.id, targetSender: 'amy' } });
    expect(JSON.parse(ready!.content)).toMatchObject({ event: 'media_ready', target_seq: sent.seq, target_msg_id: sent.id });
    expect(messageFrame(ready!).media).toEqual([{ id: item.id, kind: 'image', mime: 'image/png', size: item.size, name: 'photo.png', width: 640, height: 480, thumbnail: true }]);

    // Persistence applied it: history (and so sync) shows the measures on the message itself.
    const history = await messages.history(d, { limit: 10 });
    expect(history.messages.find((m) => m.seq === sent.seq)!.media).toEqual([expect.objectContaining({ id: item.id, width: 640, height: 480, thumbnail: true })]);

    // Read again after a crash: the same thumbnail, and the change stamped once (the stamper's dedup).
    await driver.redeliver('im.msg.stamped');
    expect(events()).toHaveLength(1);
    expect(driver.read('im.dlq')).toEqual([]);
  });

  it('recall: the media RECALLED at once, the original and thumbnail deleted after the grace period and DELETED, not before', async () => {
    const { driver, upload, sendMedia, state, exists, code } = await start();
    const item = await upload(await png(100, 400));
    const sent = await sendMedia(item);
    const original = mediaObjectKey('amy', item.id);
    const thumbnail = thumbnailObjectKey('amy', item.id);
    expect(state(item.id)).toMatchObject({ width: 100, height: 400, thumbnailKey: thumbnail });

    const recalledAt = driver.clock.now();
    expect(await code('amy', { type: 'recall_msg', conversation_id: d, seq: sent.seq })).toBe('ack');
    expect(state(item.id)).toMatchObject({ status: 'RECALLED', deleteAfter: recalledAt + lifecycle.recallGraceSec * 1000 });

    // The janitor runs every minute; the grace is ten.
    for (let minute = 1; minute < 10; minute++) await driver.advanceWallClockTime(60_000);
    expect(state(item.id)!.status).toBe('RECALLED');
    expect([await exists(original), await exists(thumbnail)]).toEqual([true, true]);

    await driver.advanceWallClockTime(60_000);
    expect(state(item.id)).toMatchObject({ status: 'DELETED', deleteAfter: null });
    expect([await exists(original), await exists(thumbnail)]).toEqual([false, false]);
    // Nothing is due any more: the next runs write nothing.
    const writes = driver.read('im.state.media').length;
    await driver.advanceWallClockTime(60_000);
    expect(driver.read('im.state.media')).toHaveLength(writes);
    expect(driver.read('im.dlq')).toEqual([]);
  });

  it('deletes an upload never attached once it is older than the pending timeout; attached ones stay', async () => {
    const { driver, upload, sendMedia, store, exists } = await start();
    const pending = await upload(await png(10, 10));
    const attached = await upload(await png(20, 20));
    await sendMedia(attached);
    // Not a key of ours: the janitor leaves it alone.
    await store.put('media/notes.txt', Buffer.from('kept'), 'text/plain');

    await driver.advanceWallClockTime(lifecycle.pendingTimeoutSec * 1000 - 60_000);
    expect(await exists(mediaObjectKey('amy', pending.id))).toBe(true);

    await driver.advanceWallClockTime(120_000);
    expect(await exists(mediaObjectKey('amy', pending.id))).toBe(false);
    expect(await exists(mediaObjectKey('amy', attached.id))).toBe(true);
    expect(await exists(thumbnailObjectKey('amy', attached.id))).toBe(true);
    expect(await exists('media/notes.txt')).toBe(true);
  });

  it('deletes media accepted with a send the stamper then refused (never stamped) once older than the pending timeout', async () => {
    const { driver, frame, upload, state, exists } = await start();
    const item = await upload(await png(12, 12));
    // A reply to a message that does not exist: message logic accepts it (and attaches the item), the stamper refuses it.
    const refused = await frame('amy', { type: 'send_msg', recipient: 'bo', recipient_type: 'user', content: '', content_type: 'image', media: [item], reply_to: { seq: 999 }, timestamp: 1 });
    expect(refused.type).toBe('error');
    expect(state(item.id)).toMatchObject({ status: 'ATTACHED', seq: -1 });

    await driver.advanceWallClockTime(lifecycle.pendingTimeoutSec * 1000 - 60_000);
    expect(await exists(mediaObjectKey('amy', item.id))).toBe(true);
    await driver.advanceWallClockTime(120_000);
    expect(state(item.id)!.status).toBe('DELETED');
    expect(await exists(mediaObjectKey('amy', item.id))).toBe(false);
  });

  it('deletes attached media older than the retention when there is one', async () => {
    const { driver, upload, sendMedia, state, exists } = await start({ retentionDays: 1 });
    const item = await upload(await png(30, 30));
    await sendMedia(item);
    await driver.advanceWallClockTime(86_400_000 - 60_000);
    expect(state(item.id)!.status).toBe('ATTACHED');
    await driver.advanceWallClockTime(120_000);
    expect(state(item.id)!.status).toBe('DELETED');
    expect([await exists(mediaObjectKey('amy', item.id)), await exists(thumbnailObjectKey('amy', item.id))]).toEqual([false, false]);
  });

  it('a broken image: recorded without dimensions or thumbnail, still ATTACHED, and the next image is measured', async () => {
    const { driver, upload, sendMedia, state, exists, events } = await start();
    // A PNG signature (so the send path's sniffing takes it) and then nothing an image is made of.
    const broken = await upload(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 7)]));
    const sent = await sendMedia(broken);
    expect(state(broken.id)).toMatchObject({ status: 'ATTACHED', seq: sent.seq, messageId: sent.id, width: null, height: null, thumbnailKey: null });
    expect(await exists(thumbnailObjectKey('amy', broken.id))).toBe(false);
    expect(events()).toEqual([]);

    const fine = await upload(await png(50, 60));
    await sendMedia(fine);
    expect(state(fine.id)).toMatchObject({ width: 50, height: 60 });
    expect(events()).toHaveLength(1);
    expect(driver.read('im.dlq')).toEqual([]);
  });

  it('rides out an object store failing for a moment: the image is measured, nothing dead-lettered', async () => {
    // The store says "internal error, try again" to the first reads and the first write, as
    // SeaweedFS did under a full bench.
    let failures = 0;
    const flaky = (s: LocalObjectStore): ObjectStore => {
      const fail = (): Promise<never> => Promise.reject(Object.assign(new Error('We encountered an internal error, please try again.'), { name: 'InternalError' }));
      return Object.assign(Object.create(s) as ObjectStore, {
        read: (key: string, max: number) => (failures++ < 2 ? fail() : s.read(key, max)),
        put: (key: string, body: Buffer, type: string) => (failures++ < 3 ? fail() : s.put(key, body, type)),
      });
    };
    const { driver, upload, sendMedia, state, events } = await start({}, flaky);
    const item = await upload(await png(64, 48));
    const sent = await sendMedia(item);
    expect(failures).toBeGreaterThanOrEqual(3);
    expect(state(item.id)).toMatchObject({ seq: sent.seq, width: 64, height: 48 });
    expect(events().map((e) => e.action?.kind)).toEqual(['MEDIA_READY']);
    expect(driver.read('im.dlq')).toEqual([]);
  });

  it('a client cannot ask for MEDIA_READY: no frame makes one', async () => {
    const { code, upload, sendMedia, events } = await start();
    const sent = await sendMedia(await upload(await png(8, 8)));
    expect(await code('amy', { type: 'media_ready', conversation_id: d, seq: sent.seq })).toBe('UNKNOWN_FRAME_TYPE');
    expect(await code('amy', { type: 'send_msg', recipient: 'bo', recipient_type: 'user', content: '{}', content_type: 'system/media_ready', timestamp: 1 })).toBe('MALFORMED_FRAME');
    // Only the server's own, for the image above.
    expect(events().map((e) => e.origin)).toEqual([null]);
  });
});
