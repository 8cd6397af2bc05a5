import type { MirrorStore } from '../../connectors/mongo-mirror/mirror-store.js';
import type { ObjectStore } from '../../connectors/object-store/object-store.js';
import type { PlatformConfig } from '../../core/config.js';
import { conversationOf } from '../../domain/conversations.js';
import { declarationRefusal, isMediaId, isMediaKind, mediaObjectKey, newMediaId } from '../../domain/media.js';
import type { ErrorCode } from '../../protocol/codes.js';
import type { MediaState } from '../../schemas/types.generated.js';
import type { MediaAllowance } from './media-allowance.js';
import { HttpError, type HttpRequest, type HttpRoute } from './routes.js';

/**
 * Media over HTTP (docs/protocol.md#media). Bytes never pass through here: the platform signs
 * a URL of the object store for one upload, and one for each download.
 *
 * POST /v1/media/uploads {kind, mime, size, name} → 201 {media_id, upload: {url, method, headers,
 *   expires_at}, max_size}: a slot for exactly `size` bytes of `mime` under a new id, checked
 *   against the kind's limits (domain/media.ts) and the user's rate and daily quota.
 * GET /v1/media/:mediaId[?variant=thumbnail] → 200 {url, expires_at, mime, name, size}: a short
 *   download URL, for a participant of the conversation the media was sent to (the query
 *   mirror of im.state.media), the thumbnail once the media processor made it.
 */
export interface MediaRoutesDeps {
  store: ObjectStore;
  mirror: Pick<MirrorStore, 'media' | 'member'>;
  allowance: MediaAllowance;
  now?: () => number;
}

export type MediaRoutesConfig = Pick<PlatformConfig['media'], 'limits' | 'uploads'>;

/** The HTTP status of each refusal of a declaration (its code is the body's). */
const DECLARATION_STATUS: Partial<Record<ErrorCode, number>> = { MEDIA_TYPE_NOT_ALLOWED: 415, MEDIA_TOO_LARGE: 413, MEDIA_EMPTY: 400, MEDIA_BAD_NAME: 400 };

export function mediaRoutes(deps: MediaRoutesDeps, config: MediaRoutesConfig): HttpRoute[] {
  const now = deps.now ?? Date.now;
  return [
    {
      method: 'POST',
      path: '/v1/media/uploads',
      auth: true,
      handler: async (req) => {
        const userId = userOf(req);
        const b = (req.body ?? {}) as Record<string, unknown>;
        if (!isMediaKind(b.kind)) throw new HttpError(400, 'BAD_REQUEST', 'kind must be image, file, audio or video');
        if (typeof b.mime !== 'string' || b.mime.length === 0 || b.mime.length > 127) throw new HttpError(400, 'BAD_REQUEST', 'mime must be a MIME type such as image/png');
        if (typeof b.size !== 'number' || !Number.isSafeInteger(b.size) || b.size < 0) throw new HttpError(400, 'BAD_REQUEST', 'size must be a byte count (a non-negative integer)');
        if (typeof b.name !== 'string') throw new HttpError(400, 'BAD_REQUEST', 'name must be a string');
        const declared = { kind: b.kind, mime: b.mime.toLowerCase(), size: b.size, name: b.name };
        const refusal = declarationRefusal(declared, config.limits);
        if (refusal) throw new HttpError(DECLARATION_STATUS[refusal.code] ?? 400, refusal.code, refusal.detail);
        const allowed = await deps.allowance.take(userId, declared.size, now());
        if (!allowed.ok) throw new HttpError(429, allowed.code, `${allowed.code === 'TOO_MANY_REQUESTS' ? 'too many upload slots' : 'daily upload quota used up'}; retry in ${allowed.retryAfterSec} s`);
        const mediaId = newMediaId();
        const upload = await deps.store.presignUpload(mediaObjectKey(userId, mediaId), { size: declared.size, contentType: declared.mime, expiresInSec: config.uploads.uploadUrlTtlSec });
        return {
          status: 201,
          body: { media_id: mediaId, upload: { url: upload.url, method: upload.method, headers: upload.headers, expires_at: upload.expiresAt }, max_size: config.limits[declared.kind].maxBytes },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/media/:mediaId',
      auth: true,
      handler: async (req) => {
        const userId = userOf(req);
        const mediaId = req.params.mediaId;
        const variant = req.query.variant ?? 'original';
        if (variant !== 'original' && variant !== 'thumbnail') throw new HttpError(400, 'BAD_REQUEST', 'variant must be original or thumbnail');
        const state = isMediaId(mediaId) ? await deps.mirror.media(mediaId) : null;
        if (!state || state.status === 'OTHER') throw new HttpError(404, 'MEDIA_NOT_FOUND', 'no such media');
        if (!(await participates(deps.mirror, state, userId))) throw new HttpError(403, 'FORBIDDEN', 'not a participant of the conversation this media was sent to');
        if (state.status !== 'ATTACHED') throw new HttpError(410, 'MEDIA_GONE', `the media was ${state.status === 'RECALLED' ? 'recalled' : 'deleted'}`);
        const expiresInSec = config.uploads.downloadUrlTtlSec;
        if (variant === 'thumbnail') {
          const thumb = state.thumbnailKey ? await deps.store.head(state.thumbnailKey) : null;
          if (!state.thumbnailKey || !thumb) throw new HttpError(404, 'MEDIA_NOT_FOUND', 'no thumbnail (yet) for this media');
          const name = `${state.name.replace(/\.[^.]*$/, '')}.thumb.webp`;
          const get = await deps.store.presignDownload(state.thumbnailKey, { expiresInSec, filename: name, contentType: 'image/webp' });
          return { status: 200, body: { url: get.url, expires_at: get.expiresAt, mime: 'image/webp', name, size: thumb.size } };
        }
        const get = await deps.store.presignDownload(state.objectKey, { expiresInSec, filename: state.name, contentType: state.mime });
        return { status: 200, body: { url: get.url, expires_at: get.expiresAt, mime: state.mime, name: state.name, size: state.size } };
      },
    },
  ];
}

/** A direct conversation's two users, or a current member of the group (domain/conversations.ts). */
async function participates(mirror: MediaRoutesDeps['mirror'], state: MediaState, userId: string): Promise<boolean> {
  const ref = conversationOf(state.conversationId, userId);
  if (ref === null) return false;
  if (ref.kind === 'direct') return true;
  return (await mirror.member(ref.groupId, userId)) !== null;
}

function userOf(req: HttpRequest): string {
  if (!req.userId) throw new HttpError(401, 'UNAUTHORIZED', 'missing credentials');
  return req.userId;
}
