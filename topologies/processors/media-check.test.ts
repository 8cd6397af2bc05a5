import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalObjectStore } from '../../connectors/object-store/object-store-local.js';
import type { ObjectStore } from '../../connectors/object-store/object-store.js';
import { DEFAULT_MEDIA_LIMITS, mediaObjectKey, newMediaId } from '../../domain/media.js';
import { startSendPath } from './send-path.testing.js';

/**
 * The send path's media check (media-check.ts) on the test driver, against a real local object
 * store: what it accepts is stamped with its media and recorded ATTACHED in im.state.media;
 * what it refuses costs no seq; a store that fails is retried, then the send is dead-lettered
 * and its sender answered SERVICE_UNAVAILABLE, never accepted unchecked nor left unanswered.
 */
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

describe('media check before stamping', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const localStore = () => {
    const dir = mkdtempSync(join(tmpdir(), 'im-media-check-'));
    dirs.push(dir);
    return createLocalObjectStore({ dir, baseUrl: 'http://127.0.0.1:1', signingKey: null });
  };
  const start = (store: ObjectStore, maxRetries?: number) => startSendPath(undefined, undefined, { logic: { media: { store, limits: DEFAULT_MEDIA_LIMITS, timeoutMs: 1_000 } }, maxRetries });
  const item = (id: string, size = PNG.length) => ({ id, kind: 'image', mime: 'image/png', size, name: 'a.png' });
  const mediaSend = (msgId: string, id: string, size?: number) => ({ type: 'send_msg', msg_id: msgId, recipient: 'bo', content: '', content_type: 'image', media: [item(id, size)], timestamp: 1 });

  it('stamps a checked item with the message and records it ATTACHED; a resend is the same message, another one MEDIA_IN_USE', async () => {
    const store = localStore();
    const { driver, frame } = await start(store);
    const id = newMediaId();
    await store.put(mediaObjectKey('amy', id), PNG, 'image/png');
    const ack = await frame('amy', mediaSend('pic-1', id));
    expect(ack.type).toBe('ack');
    expect(driver.read('im.msg.stamped').map((r) => r.value.media)).toEqual([[{ ...item(id), width: null, height: null, durationMs: null, thumbnail: false }]]);
    expect(driver.read('im.state.media').map((r) => [r.key, r.value])).toEqual([[id, expect.objectContaining({ owner: 'amy', objectKey: `media/amy/${id}`, status: 'ATTACHED', conversationId: 'd:amy:bo', clientMsgId: 'pic-1', seq: -1 })]]);
    expect(await frame('amy', mediaSend('pic-1', id))).toMatchObject({ type: 'ack', sequence_number: ack.sequence_number });
    expect(await frame('amy', mediaSend('pic-2', id))).toMatchObject({ type: 'error', error_code: 'MEDIA_IN_USE' });
    // Another user naming the id learns nothing of it.
    expect(await frame('bo', { ...mediaSend('pic-3', id), recipient: 'amy' })).toMatchObject({ type: 'error', error_code: 'MEDIA_NOT_FOUND' });
    expect(driver.read('im.msg.stamped')).toHaveLength(1);
  });

  it('deletes an object whose bytes are not its type, and asks the store nothing for a send the rules refuse', async () => {
    const store = localStore();
    const { driver, frame } = await start(store);
    const id = newMediaId();
    await store.put(mediaObjectKey('amy', id), Buffer.from('MZ\u0090\u0000 not a png'), 'image/png');
    expect(await frame('amy', mediaSend('liar', id, 15))).toMatchObject({ type: 'error', error_code: 'MEDIA_MISMATCH' });
    expect(await store.head(mediaObjectKey('amy', id))).toBeNull();
    // amy and cy: cy blocked amy; the refusal comes first, the object stays.
    const kept = newMediaId();
    await store.put(mediaObjectKey('amy', kept), Buffer.from('MZ\u0090\u0000 not a png'), 'image/png');
    expect(await frame('amy', { ...mediaSend('blocked', kept, 15), recipient: 'cy' })).toMatchObject({ type: 'error', error_code: 'BLOCKED' });
    expect(await store.head(mediaObjectKey('amy', kept))).not.toBeNull();
    expect(driver.read('im.msg.stamped')).toHaveLength(0);
    expect(driver.read('im.state.media')).toHaveLength(0);
  });

  it('retries a failing store, then answers SERVICE_UNAVAILABLE and dead-letters the send', async () => {
    let calls = 0;
    const down: ObjectStore = { ...localStore(), head: async () => { calls += 1; throw new Error('connect ECONNREFUSED'); } };
    const { driver, frame } = await start(down, 2);
    expect(await frame('amy', mediaSend('pic-down', newMediaId()))).toMatchObject({ type: 'error', error_code: 'SERVICE_UNAVAILABLE', msg_id: 'pic-down' });
    expect(calls).toBe(3);
    expect(driver.read('im.dlq').map((r) => [r.value.processor, r.value.errorCode])).toEqual([['message-logic', 'OBJECT_STORE_UNAVAILABLE']]);
    expect(driver.read('im.msg.stamped')).toHaveLength(0);
    // Text goes on while the store is down.
    expect(await frame('amy', { type: 'send_msg', recipient: 'bo', content: 'hi', timestamp: 1 })).toMatchObject({ type: 'ack' });
  });
});
