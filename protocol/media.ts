import { MEDIA_KINDS, type MediaKind } from '../core/config.js';

/**
 * The shape of media in frames (docs/protocol.md#media): the kinds, the ids the upload slot
 * hands out, how many items a message carries. What an item may be (types, sizes, names) is
 * policy, domain/media.ts's.
 */
export const isMediaKind = (v: unknown): v is MediaKind => typeof v === 'string' && (MEDIA_KINDS as readonly string[]).includes(v);

/** `m` and 26 base62 characters (domain/media.ts makes them). */
const MEDIA_ID = /^m[0-9A-Za-z]{26}$/;
export const isMediaId = (v: unknown): v is string => typeof v === 'string' && MEDIA_ID.test(v);

/** Items one message may carry. */
export const MAX_MEDIA_PER_MESSAGE = 10;
