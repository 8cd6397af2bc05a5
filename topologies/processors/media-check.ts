import type { ObjectStore } from '../../connectors/object-store/object-store.js';
import { PlatformError } from '../../core/errors.js';
import { counter } from '../../core/metrics.js';
import { declarationRefusal, isMediaKind, mediaObjectKey, type MediaLimits, SNIFF_BYTES, sniffMatches } from '../../domain/media.js';
import type { ErrorCode } from '../../protocol/codes.js';
import type { MediaRef, MediaState, SendCommand } from '../../schemas/types.generated.js';
import type { Emit, TableView } from '../../streams/index.js';

/**
 * Message logic's step for media (docs/protocol.md#media): before a permitted send is stamped,
 * each item it carries must be an object the sender uploaded, exactly as declared. The client's
 * word is checked against the store (size, type as signed at the upload slot) and against the
 * object's first bytes (domain/media.ts sniffing), so a PNG that is really an executable never
 * reaches a recipient. A lying object is deleted at once: nothing refused stays behind.
 *
 * Every refusal of an object that is not the sender's is MEDIA_NOT_FOUND, whatever the reason
 * (never uploaded, another user's, expired, deleted): a client learns nothing of others' ids.
 *
 * A store that fails or does not answer in time is an error the runtime retries with back-off
 * and then dead-letters, answering the client SERVICE_UNAVAILABLE (`deadLetterReply`): a media
 * send is never accepted unchecked, nor dropped unanswered.
 */
export interface MediaCheckDeps {
  /** Null: this deployment has no object store; a media send is refused SERVICE_UNAVAILABLE. */
  store: ObjectStore | null;
  limits: MediaLimits;
  /** One item's store calls (head, first bytes) give up after this. */
  timeoutMs: number;
}

/** The error a store failure is thrown as: retriable, then dead-lettered and answered SERVICE_UNAVAILABLE. */
export const OBJECT_STORE_UNAVAILABLE = 'OBJECT_STORE_UNAVAILABLE';

const checked = counter('im_media_checks_total', 'Media items checked before stamping, by outcome (ok or the refusal code)', ['outcome']);

export type MediaVerdict = { refusal: null } | { refusal: ErrorCode; detail: string };

/**
 * The verdict on a send's media. `attached` is the global table of im.state.media: an id
 * another message carries already is MEDIA_IN_USE, unless it is this very send again (a
 * client's resend of the same msg_id, which the stamper answers with the first ack).
 */
export async function checkMedia(deps: MediaCheckDeps, cmd: SendCommand, attached: TableView<MediaState>): Promise<MediaVerdict> {
  const items = cmd.media ?? [];
  if (items.length === 0) return { refusal: null };
  if (!deps.store) return refuse('SERVICE_UNAVAILABLE', 'media is not configured on this platform');
  for (const item of items) {
    const verdict = await checkItem(deps, deps.store, cmd, item, attached.get(item.id));
    checked.inc({ outcome: verdict.refusal ?? 'ok' });
    if (verdict.refusal) return verdict;
  }
  return { refusal: null };
}

async function checkItem(deps: MediaCheckDeps, store: ObjectStore, cmd: SendCommand, item: MediaRef, prior: MediaState | undefined): Promise<MediaVerdict> {
  // im.cmd.send has other producers than the router: the declaration is judged again.
  if (!isMediaKind(item.kind)) return refuse('MALFORMED_FRAME', `media kind ${item.kind} is unknown`);
  const declared = declarationRefusal({ kind: item.kind, mime: item.mime, size: item.size, name: item.name }, deps.limits);
  if (declared) return { refusal: declared.code, detail: declared.detail };
  if (prior) {
    if (prior.owner !== cmd.sender) return refuse('MEDIA_NOT_FOUND', `no media ${item.id} of yours`);
    if (prior.clientMsgId !== cmd.clientMsgId) return refuse('MEDIA_IN_USE', `media ${item.id} is attached to another message`);
    return { refusal: null };
  }
  const key = mediaObjectKey(cmd.sender, item.id);
  const head = await withStore(deps, 'head', () => store.head(key));
  if (!head) return refuse('MEDIA_NOT_FOUND', `no media ${item.id} of yours`);
  if (head.size !== item.size) return mismatch(deps, store, key, `${item.id}: ${head.size} bytes stored, ${item.size} declared`);
  if (baseType(head.contentType) !== item.mime) return mismatch(deps, store, key, `${item.id}: stored as ${baseType(head.contentType)}, declared ${item.mime}`);
  const start = await withStore(deps, 'read', () => store.readStart(key, SNIFF_BYTES));
  // Gone between the two calls (the janitor, or a delete): as good as never uploaded.
  if (!start) return refuse('MEDIA_NOT_FOUND', `no media ${item.id} of yours`);
  if (!sniffMatches(item.mime, start)) return mismatch(deps, store, key, `${item.id}: its bytes are not ${item.mime}`);
  return { refusal: null };
}

/** The object is not what was declared: it goes, so no refused upload is left to be fetched. */
async function mismatch(deps: MediaCheckDeps, store: ObjectStore, key: string, detail: string): Promise<MediaVerdict> {
  await withStore(deps, 'delete', () => store.delete(key));
  return refuse('MEDIA_MISMATCH', detail);
}

const refuse = (refusal: ErrorCode, detail: string): MediaVerdict => ({ refusal, detail });

/** `image/png; charset=binary` → `image/png`: stores may keep parameters the signature did not name. */
const baseType = (contentType: string): string => contentType.split(';')[0]!.trim().toLowerCase();

/** One store call, bounded by the timeout; any failure is retriable. */
async function withStore<T>(deps: MediaCheckDeps, what: string, op: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${deps.timeoutMs} ms`)), deps.timeoutMs);
  });
  try {
    return await Promise.race([op(), timeout]);
  } catch (err) {
    throw new PlatformError(OBJECT_STORE_UNAVAILABLE, `object store ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { retriable: true, cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The im.state.media records an accepted media send writes: ATTACHED to its conversation, with
 * the sender's msg_id (so a resend is recognised); the media processor adds the seq, the
 * message id and what it measured once the message is stamped.
 */
export function attachedRecords(cmd: SendCommand, now: number): Emit<'im.state.media'>[] {
  return (cmd.media ?? []).map((item) => ({
    topic: 'im.state.media',
    key: item.id,
    value: {
      mediaId: item.id,
      owner: cmd.sender,
      objectKey: mediaObjectKey(cmd.sender, item.id),
      kind: item.kind,
      mime: item.mime,
      size: item.size,
      name: item.name,
      status: 'ATTACHED',
      conversationId: cmd.conversationId,
      clientMsgId: cmd.clientMsgId,
      seq: -1,
      messageId: null,
      attachedAt: now,
      deleteAfter: null,
      width: null,
      height: null,
      durationMs: null,
      thumbnailKey: null,
    },
  }));
}
