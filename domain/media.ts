import { randomBytes } from 'node:crypto';
import type { ErrorCode } from '../protocol/codes.js';
import type { MediaRef } from '../schemas/types.generated.js';
import { DEFAULT_MEDIA_MAX_BYTES, DEFAULT_MEDIA_TYPES, MEDIA_KINDS, RECOGNISABLE_MEDIA_TYPES, type MediaKind, type MediaLimits, type RecognisableMediaType } from '../core/config.js';

/**
 * Media: the rules every place that touches an uploaded object follows (the upload slot, the
 * send_msg frame, the send path's check, downloads, the media processor and its janitor):
 * which kinds and types there are, how big each may be, what an id, an object key and a file
 * name look like, and what a type's first bytes must be. No transport, no store: the object
 * store (connectors/object-store) only holds bytes under the keys named here.
 */

export { DEFAULT_MEDIA_MAX_BYTES, DEFAULT_MEDIA_TYPES, MEDIA_KINDS, type MediaKind, type MediaLimits } from '../core/config.js';
export { isMediaId, isMediaKind, MAX_MEDIA_PER_MESSAGE } from '../protocol/media.js';

/** Characters of a file name. */
export const MAX_MEDIA_NAME_CHARS = 255;

/** The limits without configuration: core/config.ts's defaults. */
export const DEFAULT_MEDIA_LIMITS: MediaLimits = Object.fromEntries(MEDIA_KINDS.map((k) => [k, { types: DEFAULT_MEDIA_TYPES[k], maxBytes: DEFAULT_MEDIA_MAX_BYTES[k] }])) as MediaLimits;

// ---- ids ----

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A new media id: `m` and 26 random base62 characters (about 154 bits), made by the server
 * for each upload slot, so an id names nothing a client chose and cannot be guessed.
 */
export function newMediaId(): string {
  let id = 'm';
  while (id.length < 27) {
    // Rejection sampling keeps every character equally likely (248 = 4 × 62).
    for (const b of randomBytes(32)) if (b < 248 && id.length < 27) id += ID_ALPHABET[b % 62];
  }
  return id;
}

// ---- object keys ----

const KEY_ROOT = 'media/';
const THUMBNAIL_SUFFIX = '.thumb.webp';

/**
 * A user id may hold `/` (protocol/limits.ts forbids only whitespace, `|` and `:`), which would
 * add a level to the key: it is percent-encoded, a no-op for ordinary ids.
 */
const ownerSegment = (owner: string): string => encodeURIComponent(owner);

/** Where an uploaded original lives: `media/<owner>/<mediaId>`, so one user's key never names another's object. */
export const mediaObjectKey = (owner: string, mediaId: string): string => `${KEY_ROOT}${ownerSegment(owner)}/${mediaId}`;
/** The media processor's thumbnail of an image: `media/<owner>/<mediaId>.thumb.webp`. */
export const thumbnailObjectKey = (owner: string, mediaId: string): string => `${mediaObjectKey(owner, mediaId)}${THUMBNAIL_SUFFIX}`;
/** The prefix every media object has (the janitor lists it). */
export const MEDIA_KEY_PREFIX = KEY_ROOT;

/** A key of ours taken apart (the janitor lists keys): null for anything else under the prefix. */
export function parseMediaKey(key: string): { owner: string; mediaId: string; thumbnail: boolean } | null {
  const m = /^media\/([^/]+)\/(m[0-9A-Za-z]{26})(\.thumb\.webp)?$/.exec(key);
  if (!m) return null;
  try {
    return { owner: decodeURIComponent(m[1]!), mediaId: m[2]!, thumbnail: m[3] !== undefined };
  } catch {
    return null;
  }
}

// ---- declarations: what a client says an item is ----

/** What a client declares of an item, at the upload slot and again in send_msg. */
export interface MediaDeclaration {
  kind: MediaKind;
  mime: string;
  size: number;
  name: string;
}

export type MediaRefusal = { code: ErrorCode; detail: string };

/** A declared item as the records carry it: nothing measured yet (the media processor adds it). */
export const declaredMediaRef = (d: MediaDeclaration & { id: string }): MediaRef => ({ id: d.id, kind: d.kind, mime: d.mime, size: d.size, name: d.name, width: null, height: null, durationMs: null, thumbnail: false });

/**
 * A file name shown to others and put in a download's Content-Disposition: no path separators
 * (`/`, `\`), no control characters (C0, DEL, C1), no bidirectional overrides (which make
 * `evil\u202Egnp.exe` read as `evilexe.png`), not blank and not only dots (`.`, `..`).
 */
export function nameProblem(name: string): string | null {
  const chars = [...name].length;
  if (chars === 0 || chars > MAX_MEDIA_NAME_CHARS) return `name must be 1 to ${MAX_MEDIA_NAME_CHARS} characters`;
  if (/[/\\]/.test(name)) return 'name may not contain / or \\';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'name may not contain control characters';
  if (/[\u202a-\u202e\u2066-\u2069]/.test(name)) return 'name may not contain bidirectional controls';
  if (name.trim() === '') return 'name may not be blank';
  if (/^\.+$/.test(name)) return 'name may not be only dots';
  return null;
}

/**
 * The checks of a declaration against the limits, in the order a client is told: type, empty,
 * size, name. The same at the slot, at the router and in the send path's check, so a client
 * that passed the slot with a declaration passes the send with it.
 */
export function declarationRefusal(d: MediaDeclaration, limits: MediaLimits): MediaRefusal | null {
  const limit = limits[d.kind];
  if (!limit.types.includes(d.mime)) return { code: 'MEDIA_TYPE_NOT_ALLOWED', detail: `${d.mime} is not allowed for ${d.kind}: ${limit.types.join(', ')}` };
  if (d.size === 0) return { code: 'MEDIA_EMPTY', detail: 'size is 0: an item has at least one byte' };
  if (d.size > limit.maxBytes) return { code: 'MEDIA_TOO_LARGE', detail: `${d.kind} may be at most ${limit.maxBytes} bytes` };
  const bad = nameProblem(d.name);
  if (bad) return { code: 'MEDIA_BAD_NAME', detail: bad };
  return null;
}

/** The first refusal among a message's items, named by position (`media[1]: ...`): the router's check of a send_msg. */
export function mediaRefusal(items: readonly MediaDeclaration[], limits: MediaLimits = DEFAULT_MEDIA_LIMITS): MediaRefusal | null {
  for (const [i, item] of items.entries()) {
    const refusal = declarationRefusal(item, limits);
    if (refusal) return { code: refusal.code, detail: `media[${i}]: ${refusal.detail}` };
  }
  return null;
}

// ---- sniffing: the first bytes of each type ----

/** Bytes of an object's start the check reads: enough for every signature and a text sample. */
export const SNIFF_BYTES = 512;

const ascii = (b: Buffer, at: number, s: string): boolean => b.length >= at + s.length && b.toString('latin1', at, at + s.length) === s;
const bytes = (b: Buffer, at: number, sig: readonly number[]): boolean => b.length >= at + sig.length && sig.every((x, i) => b[at + i] === x);

/** An MPEG audio frame header: 11 sync bits, a layer other than the reserved 00. */
const mpegFrame = (b: Buffer): boolean => b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0 && (b[1]! & 0x06) !== 0;

/**
 * Plain text: UTF-8 without NUL or other control characters than tab, line breaks and form
 * feed. The sample may end inside a character; those last bytes are not judged.
 */
function looksLikeText(b: Buffer): boolean {
  let end = b.length;
  // Step back over a multi-byte character the sample may have cut (at most 3 bytes).
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const c = b[end - i]!;
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: keep looking for its lead
    if ((c & 0xe0) === 0xc0 && i < 2) end -= i;
    else if ((c & 0xf0) === 0xe0 && i < 3) end -= i;
    else if ((c & 0xf8) === 0xf0 && i < 4) end -= i;
    break;
  }
  const sample = b.subarray(0, end);
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample);
  } catch {
    return false;
  }
  for (const c of sample) if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0c && c !== 0x0d) || c === 0x7f) return false;
  return true;
}

/** One per type core/config.ts calls recognisable: the record's type makes the two lists agree. */
const SNIFFERS: Record<RecognisableMediaType, (b: Buffer) => boolean> = {
  'image/png': (b) => bytes(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  'image/jpeg': (b) => bytes(b, 0, [0xff, 0xd8, 0xff]),
  'image/gif': (b) => ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a'),
  'image/webp': (b) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP'),
  'application/pdf': (b) => ascii(b, 0, '%PDF-'),
  'application/zip': (b) => bytes(b, 0, [0x50, 0x4b, 0x03, 0x04]) || bytes(b, 0, [0x50, 0x4b, 0x05, 0x06]),
  'video/mp4': (b) => ascii(b, 4, 'ftyp'),
  'video/webm': (b) => bytes(b, 0, [0x1a, 0x45, 0xdf, 0xa3]),
  'audio/mpeg': (b) => ascii(b, 0, 'ID3') || mpegFrame(b),
  'audio/ogg': (b) => ascii(b, 0, 'OggS'),
  'audio/wav': (b) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WAVE'),
  'text/plain': looksLikeText,
};

/** Every type whose first bytes are known: what an allowlist may name (core/config.ts checks it). */
export const SNIFFABLE_TYPES: readonly string[] = RECOGNISABLE_MEDIA_TYPES;

/** Whether `start` (an object's first bytes, up to SNIFF_BYTES) is what `mime` says; an unknown type never is. */
export function sniffMatches(mime: string, start: Buffer): boolean {
  const sniff = (SNIFFERS as Record<string, ((b: Buffer) => boolean) | undefined>)[mime];
  return sniff !== undefined && sniff(start);
}

/** The known type `start` is, when one signature fits (text last: it fits much); null otherwise. */
export function sniffType(start: Buffer): string | null {
  for (const [mime, sniff] of Object.entries(SNIFFERS)) if (mime !== 'text/plain' && sniff(start)) return mime;
  return looksLikeText(start) && start.length > 0 ? 'text/plain' : null;
}
