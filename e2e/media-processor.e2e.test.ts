import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaObjectKey, thumbnailObjectKey } from '../domain/media.js';
import type { Frame } from '../edge/gateway/testing.js';
import { eventually } from '../streams/testing.js';
import { answer, befriend, sendMsg, startPlatform, type Platform } from './harness.js';

/**
 * The media processor end to end on the Kafka engine with the S3 store on SeaweedFS
 * (IM_S3_ENDPOINT_TEST, `ops/stack/up.sh s3`): a real PNG sent as a media message comes back
 * measured (a MEDIA_READY event to every party, a WebP thumbnail in the bucket, the dimensions in
 * history); recalled, its objects leave the bucket once the (here one-second) grace is over.
 */
const WAIT = 30_000;

describe('media processor end to end on the kafka engine', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await startPlatform('kafka', {
      IM_S3_ENDPOINT: process.env.IM_S3_ENDPOINT_TEST ?? 'http://127.0.0.1:8333',
      IM_MEDIA_RECALL_GRACE_SEC: '1',
      IM_MEDIA_JANITOR_INTERVAL_SEC: '1',
    });
  }, 120_000);
  afterAll(async () => {
    await p?.stop();
  });

  it('a PNG gets its thumbnail and dimensions (MEDIA_READY, history); recalled, its objects are deleted after the grace', async () => {
    const [alice, bob] = [await p.user('alice'), await p.user('bob')];
    await befriend(p, alice, bob);
    const [a, b] = [await alice.connect(), await bob.connect()];
    const bytes = await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 20, g: 120, b: 200 } } }).png().toBuffer();
    const item = { kind: 'image', mime: 'image/png', size: bytes.length, name: 'sky.png' };
    const slot = await p.http<{ media_id: string; upload: { url: string; method: string; headers: Record<string, string> } }>('POST', '/v1/media/uploads', { token: alice.token, body: item });
    expect(slot.status).toBe(201);
    const id = slot.body.media_id;
    expect((await fetch(slot.body.upload.url, { method: slot.body.upload.method, headers: slot.body.upload.headers, body: bytes })).status).toBeLessThan(300);

    const send = { ...sendMsg(bob.id, 'the sky'), content_type: 'image', media: [{ id, ...item }] };
    const ack = await answer(a, send, WAIT);
    expect(ack).toMatchObject({ type: 'ack' });
    const conversation = String(ack.conversation_id);
    const seq = Number(ack.sequence_number);

    // The event targets the message; its media entries are the message's, measured.
    const ready = await b.next((f) => f.type === 'message' && f.content_type === 'system/media_ready', WAIT);
    expect(JSON.parse(String(ready.content))).toMatchObject({ event: 'media_ready', target_seq: seq, target_msg_id: ack.server_msg_id });
    expect(ready.media).toEqual([{ id, ...item, width: 800, height: 600, thumbnail: true }]);
    const thumbnail = await p.infra.objectStore.read(thumbnailObjectKey(alice.id, id), 1_000_000);
    expect(await sharp(thumbnail!).metadata()).toMatchObject({ format: 'webp', width: 320, height: 240 });

    let message: Frame | undefined;
    await eventually(async () => {
      const h = await p.http<{ messages: Frame[] }>('GET', `/v1/conversations/${encodeURIComponent(conversation)}/messages?after_seq=0`, { token: bob.token });
      message = (h.body.messages ?? []).find((m) => m.sequence_number === seq);
      return JSON.stringify(message?.media ?? []).includes('"width":800');
    }, 'the dimensions in history', WAIT);
    expect(message!.media).toEqual([{ id, ...item, width: 800, height: 600, thumbnail: true }]);

    // Recalled: the original and the thumbnail leave the bucket after the grace; downloads are gone.
    expect(await answer(a, { type: 'recall_msg', msg_id: `recall-${id}`, conversation_id: conversation, seq }, WAIT)).toMatchObject({ type: 'ack' });
    const store = p.infra.objectStore;
    await eventually(async () => (await store.head(mediaObjectKey(alice.id, id))) === null && (await store.head(thumbnailObjectKey(alice.id, id))) === null, 'the objects deleted', WAIT);
    await eventually(async () => (await p.http('GET', `/v1/media/${id}`, { token: bob.token })).status === 410, 'the download gone', WAIT);
    expect(await p.http('GET', `/v1/media/${id}`, { token: bob.token })).toMatchObject({ status: 410, body: { error_code: 'MEDIA_GONE' } });
  }, 120_000);
});
