import type { ObjectStore } from '../../connectors/object-store/object-store.js';
import type { PlatformConfig } from '../../core/config.js';
import { errorMessage } from '../../core/errors.js';
import { retry } from '../../core/retry.js';
import { counter } from '../../core/metrics.js';
import { CHANGE_CONTENT_TYPES } from '../../domain/message-changes.js';
import { MEDIA_KEY_PREFIX, parseMediaKey, thumbnailObjectKey } from '../../domain/media.js';
import { SYSTEM_MSG_ID_PREFIX } from '../../domain/notices.js';
import type { CheckedMessage, MediaRef, MediaState, MessageAction, StampedMessage } from '../../schemas/types.generated.js';
import type { Emit, ProcessContext, ProcessorBuilder, PunctuationContext } from '../../streams/index.js';
import { type ImageMeasures, measureImage, THUMBNAIL_TYPE } from './media-images.js';

/**
 * The media processor (docs/protocol.md#media): what happens to a message's media after it is
 * stamped, in a consumer group of its own (it reads and writes only contract topics), so
 * reading objects and making thumbnails never holds back sends or delivery.
 *
 * - A stamped message with media: each item's im.state.media record (ATTACHED by the send path)
 *   gets the message's seq and id; an image is read (at most its kind's size limit) for its
 *   dimensions and a WebP thumbnail put at its thumbnail key. What was measured goes back into
 *   the conversation as a MEDIA_READY change of the message, for its sender, which the stamper
 *   stamps like an edit: every device, history and sync then show the dimensions and thumbnail.
 *   Audio and video durations are not measured (they stay null): that needs a demuxer per format.
 * - A recall of such a message: its media become RECALLED, deleted after the grace period.
 * - The janitor, on the clock: deletes the objects of media RECALLED past their time (and of
 *   media ATTACHED longer than the retention, when there is one, or ATTACHED but never stamped
 *   for longer than the pending timeout) and writes DELETED; and deletes objects never
 *   attached, older than the pending timeout.
 *
 * An image sharp cannot read is no poison: the item is recorded without measures (still
 * ATTACHED, downloadable) and logged once. A store that fails is retried by the runtime.
 */
export interface MediaDeps {
  store: ObjectStore;
}
export type MediaConfig = Pick<PlatformConfig['media'], 'limits' | 'lifecycle'>;

const thumbnails = counter('im_media_thumbnails_total', 'Images the media processor read, by outcome (made; failed: not an image it can read; missing: the object was gone)', ['outcome'] as const);
const objectsDeleted = counter('im_media_objects_deleted_total', 'Media objects the janitor deleted, by reason (recalled, retention, pending: never attached)', ['reason'] as const);
type DeletionReason = 'recalled' | 'retention' | 'pending';

/**
 * The media processor's key of an item by its message, what a recall of the message finds it
 * by: `<conversationId>/<seq>|<mediaId>`, the message before the `|` (a store's index is on the
 * key's part before it); the last `/` ends the conversation id, since a seq has none.
 */
const byMessageKey = (conversationId: string, seq: number, mediaId?: string): string => `${conversationId}/${seq}${mediaId === undefined ? '' : `|${mediaId}`}`;

/** Where an item's thumbnail is (or would be): recorded, else the key domain/media.ts gives it. */
const thumbnailKeyOf = (s: MediaState): string => s.thumbnailKey ?? thumbnailObjectKey(s.owner, s.mediaId);

/**
 * An object store call of the measuring path, retried with back-off for about 18 s before the
 * runtime's own retries (and then the dead-letter topic) see its error: a store answering
 * "internal error, try again" for a few seconds under load (SeaweedFS, in a full `make bench`)
 * dead-lettered ten media messages in 81, whose MEDIA_READY then never came.
 */
const patiently = <T>(call: () => Promise<T>): Promise<T> => retry(call, { retries: 7, initialDelayMs: 250, maxDelayMs: 5_000 });

/** Catch-ups of the media table before an item without its ATTACHED record counts as not the message's, and the pause between them. */
const ATTACHED_LOOKUPS = 5;
const ATTACHED_LOOKUP_PAUSE_MS = 100;

export function mediaProcessor(deps: MediaDeps, config: MediaConfig): (p: ProcessorBuilder) => void {
  const { recallGraceSec, pendingTimeoutSec, retentionDays, janitorIntervalSec } = config.lifecycle;

  return (p) => {
    const media = p.table('im.state.media');
    const byMessage = p.store('im.state.media-messages');

    p.stream('im.msg.stamped').process(['im.state.media', 'im.msg.media-ready'], async (r, ctx) => {
      const m = r.value;
      if (m.action?.kind === 'RECALL') return recall(m.action, ctx);
      if (m.action || !m.media || m.media.length === 0) return [];
      return measure(m, m.media, ctx);
    }, 'measure');

    /**
     * Catches the table up until every item's ATTACHED record of this message is in it, or
     * ATTACHED_LOOKUPS catch-ups found it missing. The send path's sub-topology writes the
     * records and the stamped message in one produce request, and the broker may serve the
     * stamped record a moment before it appends the media partition's (one media message in 65
     * went without its MEDIA_READY in a full `make bench`): a record not there yet is looked
     * for again before it counts as not this message's.
     */
    async function attachedRecordsRead(m: StampedMessage, items: MediaRef[], ctx: ProcessContext): Promise<void> {
      for (let lookup = 1; ; lookup++) {
        await ctx.catchUp(media);
        if (lookup >= ATTACHED_LOOKUPS || items.every((ref) => recordOf(m, ref, ctx))) return;
        await new Promise((r) => setTimeout(r, ATTACHED_LOOKUP_PAUSE_MS));
      }
    }

    /** The item's record in the media table when this message attached it (not another message's, not none). */
    function recordOf(m: StampedMessage, ref: MediaRef, ctx: ProcessContext): MediaState | null {
      const s = ctx.table(media).get(ref.id);
      return s && s.conversationId === m.conversationId && s.clientMsgId === m.clientMsgId ? s : null;
    }

    p.punctuate('janitor', { intervalMs: janitorIntervalSec * 1000, outputs: ['im.state.media'] }, janitor);

    /** Each item's record completed, images measured, and the MEDIA_READY change when anything was. */
    async function measure(m: StampedMessage, items: MediaRef[], ctx: ProcessContext): Promise<Emit[]> {
      // The send path wrote the ATTACHED records before the stamped message: read them as they are now.
      await attachedRecordsRead(m, items, ctx);
      const out: Emit[] = [];
      const refs: MediaRef[] = [];
      for (const ref of items) {
        const attached = recordOf(m, ref, ctx);
        // Not this message's: never attached (or attached by another message, which owns it).
        if (!attached) {
          ctx.logger.warn('media item without its ATTACHED record; left as it is', { mediaId: ref.id, conversationId: m.conversationId, seq: m.seq });
          refs.push(ref);
          continue;
        }
        // Recalled or deleted since (a replay): nothing to measure any more.
        if (attached.status !== 'ATTACHED') {
          refs.push(ref);
          continue;
        }
        const measures = attached.kind === 'image' ? await thumbnail(attached, ctx) : null;
        const state: MediaState = { ...attached, seq: m.seq, messageId: m.messageId, width: measures?.width ?? null, height: measures?.height ?? null, thumbnailKey: measures?.thumbnailKey ?? null };
        out.push({ topic: 'im.state.media', key: ref.id, value: state });
        ctx.store(byMessage).put(byMessageKey(m.conversationId, m.seq, ref.id), state);
        refs.push({ ...ref, width: state.width, height: state.height, durationMs: state.durationMs, thumbnail: state.thumbnailKey !== null });
      }
      const changed = refs.some((ref, i) => ref.width !== items[i]!.width || ref.height !== items[i]!.height || ref.durationMs !== items[i]!.durationMs || ref.thumbnail !== items[i]!.thumbnail);
      if (changed) out.push(mediaReady(m, refs, p.clock.now()));
      return out;
    }

    /** An image's dimensions and its thumbnail put in the store; null when the object is gone or no image sharp reads. */
    async function thumbnail(s: MediaState, ctx: ProcessContext): Promise<{ width: number; height: number; thumbnailKey: string } | null> {
      const bytes = await patiently(() => deps.store.read(s.objectKey, config.limits.image.maxBytes));
      if (!bytes) {
        thumbnails.inc({ outcome: 'missing' });
        ctx.logger.warn('media object gone before its thumbnail was made', { mediaId: s.mediaId });
        return null;
      }
      let measured: ImageMeasures;
      try {
        measured = await measureImage(bytes);
      } catch (err) {
        // The same bytes fail the same way again: recorded without measures, not retried.
        thumbnails.inc({ outcome: 'failed' });
        ctx.logger.warn('media image not readable; no dimensions, no thumbnail', { mediaId: s.mediaId, mime: s.mime, error: errorMessage(err) });
        return null;
      }
      const thumbnailKey = thumbnailObjectKey(s.owner, s.mediaId);
      await patiently(() => deps.store.put(thumbnailKey, measured.thumbnail, THUMBNAIL_TYPE));
      thumbnails.inc({ outcome: 'made' });
      return { width: measured.width, height: measured.height, thumbnailKey };
    }

    /** A recalled message's media: RECALLED, deleted by the janitor once the grace period is over. */
    function recall(action: MessageAction, ctx: ProcessContext): Emit[] {
      const items = ctx.store(byMessage);
      const deleteAfter = p.clock.now() + recallGraceSec * 1000;
      const out: Emit[] = [];
      for (const [key, item] of [...items.withPrefix(byMessageKey(action.targetConversationId, action.targetSeq))]) {
        const current = ctx.table(media).get(item.mediaId) ?? item;
        if (current.status === 'ATTACHED') out.push({ topic: 'im.state.media', key: item.mediaId, value: { ...current, status: 'RECALLED', deleteAfter } });
        items.put(key, null);
      }
      return out;
    }

    /**
     * What is due for deletion, among the media ids this instance handles (`owns`: each id is one
     * instance's, by the partition it would have). Deleting twice is harmless (deletes are
     * idempotent, DELETED is written again), so a run that fails halfway is simply run again.
     */
    async function janitor(ctx: PunctuationContext): Promise<Emit[]> {
      const now = p.clock.now();
      const retentionMs = retentionDays * 86_400_000;
      await ctx.catchUp(media);
      const out: Emit[] = [];
      for (const [mediaId, s] of ctx.table(media).entries()) {
        if (!ctx.owns(mediaId)) continue;
        const reason: DeletionReason | null =
          s.status === 'RECALLED' && s.deleteAfter !== null && s.deleteAfter <= now ? 'recalled'
          : s.status === 'ATTACHED' && retentionMs > 0 && s.attachedAt + retentionMs <= now ? 'retention'
          // Accepted by message logic but never stamped (the stamper refused the send): no message carries it.
          : s.status === 'ATTACHED' && s.seq < 0 && s.attachedAt + pendingTimeoutSec * 1000 <= now ? 'pending'
          : null;
        if (!reason) continue;
        await deleteObject(s.objectKey, reason);
        await deleteObject(thumbnailKeyOf(s), reason, s.thumbnailKey !== null);
        out.push({ topic: 'im.state.media', key: mediaId, value: { ...s, status: 'DELETED', deleteAfter: null } });
      }
      out.push(...(await deletePending(ctx, now)));
      return out;
    }

    /**
     * Objects under media/ older than the pending timeout with no im.state.media record: uploads
     * never attached. The table is caught up after the listing, so an object the send path
     * attached while the store was listed has its record by the time it is judged.
     */
    async function deletePending(ctx: PunctuationContext, now: number): Promise<Emit[]> {
      const old: { key: string; mediaId: string }[] = [];
      for await (const o of deps.store.list(MEDIA_KEY_PREFIX)) {
        const parsed = parseMediaKey(o.key);
        if (parsed && o.lastModified + pendingTimeoutSec * 1000 <= now && ctx.owns(parsed.mediaId)) old.push({ key: o.key, mediaId: parsed.mediaId });
      }
      if (old.length === 0) return [];
      await ctx.catchUp(media);
      for (const o of old) if (ctx.table(media).get(o.mediaId) === undefined) await deleteObject(o.key, 'pending');
      return [];
    }

    async function deleteObject(key: string, reason: DeletionReason, counted = true): Promise<void> {
      await deps.store.delete(key);
      if (counted) objectsDeleted.inc({ reason });
    }
  };
}

/**
 * The MEDIA_READY change of message `m`: its media entries with what was measured, in its
 * conversation, for its sender and with no origin (no connection asked for it), its msg_id
 * derived from the message's id so a replay is stamped once (the stamper's dedup).
 */
function mediaReady(m: StampedMessage, media: MediaRef[], now: number): Emit<'im.msg.media-ready'> {
  const action: MessageAction = { kind: 'MEDIA_READY', targetConversationId: m.conversationId, targetSeq: m.seq, targetMessageId: m.messageId, emoji: null, privileged: false, targetSender: null, version: 0, reactions: [] };
  const value: CheckedMessage = {
    correlationId: m.correlationId, sender: m.sender, origin: null, clientMsgId: `${SYSTEM_MSG_ID_PREFIX}media:${m.messageId}`,
    conversationId: m.conversationId, recipientKind: m.recipientKind, recipientId: m.recipientId,
    content: '', contentType: CHANGE_CONTENT_TYPES.MEDIA_READY, mentions: [], clientTimestamp: now, receivedAt: now, action, media,
  };
  return { topic: 'im.msg.media-ready', key: m.conversationId, value };
}
