import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MEDIA_LIMITS,
  declarationRefusal,
  isMediaId,
  mediaObjectKey,
  nameProblem,
  newMediaId,
  parseMediaKey,
  SNIFFABLE_TYPES,
  sniffMatches,
  sniffType,
  thumbnailObjectKey,
} from './media.js';

const b = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const pad = (buf: Buffer, n = 64): Buffer => Buffer.concat([buf, Buffer.alloc(n, 0)]);

/** One sample of each known type: its first bytes as real files start. */
const SAMPLES: Record<string, Buffer> = {
  'image/png': pad(b([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [0, 0, 0, 13], 'IHDR')),
  'image/jpeg': pad(b([0xff, 0xd8, 0xff, 0xe0, 0, 16], 'JFIF')),
  'image/gif': pad(b('GIF89a', [1, 0, 1, 0])),
  'image/webp': pad(b('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 ')),
  'application/pdf': pad(b('%PDF-1.7\n')),
  'application/zip': pad(b([0x50, 0x4b, 0x03, 0x04, 20, 0])),
  'video/mp4': pad(b([0, 0, 0, 0x20], 'ftypisom')),
  'video/webm': pad(b([0x1a, 0x45, 0xdf, 0xa3, 0x9f])),
  'audio/mpeg': pad(b('ID3', [4, 0, 0])),
  'audio/ogg': pad(b('OggS', [0, 2])),
  'audio/wav': pad(b('RIFF', [0x24, 0, 0, 0], 'WAVEfmt ')),
  'text/plain': Buffer.from('hello, wörld\r\n\ttabbed\n', 'utf8'),
};

describe('media ids', () => {
  it('are m and 26 base62 characters, all different', () => {
    const ids = Array.from({ length: 2000 }, newMediaId);
    for (const id of ids) expect(id).toMatch(/^m[0-9A-Za-z]{26}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every(isMediaId)).toBe(true);
  });

  it('refuses anything else where an id enters', () => {
    for (const bad of ['', 'm', `m${'a'.repeat(25)}`, `m${'a'.repeat(27)}`, `x${'a'.repeat(26)}`, `m${'a'.repeat(25)}-`, `m${'a'.repeat(25)}é`, `m${'a'.repeat(25)}/`, 42, null, undefined])
      expect(isMediaId(bad), String(bad)).toBe(false);
  });
});

describe('object keys', () => {
  it('name the owner and the id, and parse back', () => {
    const id = newMediaId();
    expect(mediaObjectKey('ann', id)).toBe(`media/ann/${id}`);
    expect(thumbnailObjectKey('ann', id)).toBe(`media/ann/${id}.thumb.webp`);
    expect(parseMediaKey(mediaObjectKey('ann', id))).toEqual({ owner: 'ann', mediaId: id, thumbnail: false });
    expect(parseMediaKey(thumbnailObjectKey('ann', id))).toEqual({ owner: 'ann', mediaId: id, thumbnail: true });
  });

  it('keep a user id with a slash in one segment', () => {
    const id = newMediaId();
    expect(mediaObjectKey('a/b', id)).toBe(`media/a%2Fb/${id}`);
    expect(parseMediaKey(mediaObjectKey('a/b', id))?.owner).toBe('a/b');
  });

  it('parse nothing that is not one of ours', () => {
    for (const key of ['media/ann', 'media/ann/x', `other/ann/${newMediaId()}`, `media/ann/${newMediaId()}.png`, `media/a/b/${newMediaId()}`]) expect(parseMediaKey(key), key).toBeNull();
  });
});

describe('file names', () => {
  it('take ordinary names in any script', () => {
    for (const name of ['cat.png', 'résumé final (2).pdf', '猫.jpg', 'a', '.bashrc', 'x'.repeat(255), '🐱'.repeat(255)]) expect(nameProblem(name), name).toBeNull();
  });

  it('refuse separators, control characters, bidirectional overrides, blank and dot-only names, and over 255 characters', () => {
    for (const name of ['', ' ', '.', '..', '...', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', 'a\u001fb', 'a\u007fb', 'a\u0085b', 'evil\u202egnp.exe', 'x'.repeat(256)])
      expect(nameProblem(name), JSON.stringify(name)).not.toBeNull();
  });
});

describe('declarations', () => {
  const ok = { kind: 'image' as const, mime: 'image/png', size: 10, name: 'a.png' };
  it('are judged type, emptiness, size, name, each with its code', () => {
    expect(declarationRefusal(ok, DEFAULT_MEDIA_LIMITS)).toBeNull();
    expect(declarationRefusal({ ...ok, mime: 'application/pdf' }, DEFAULT_MEDIA_LIMITS)?.code).toBe('MEDIA_TYPE_NOT_ALLOWED');
    expect(declarationRefusal({ ...ok, kind: 'file', mime: 'application/pdf' }, DEFAULT_MEDIA_LIMITS)).toBeNull();
    expect(declarationRefusal({ ...ok, size: 0 }, DEFAULT_MEDIA_LIMITS)?.code).toBe('MEDIA_EMPTY');
    expect(declarationRefusal({ ...ok, size: DEFAULT_MEDIA_LIMITS.image.maxBytes + 1 }, DEFAULT_MEDIA_LIMITS)?.code).toBe('MEDIA_TOO_LARGE');
    expect(declarationRefusal({ ...ok, size: DEFAULT_MEDIA_LIMITS.image.maxBytes }, DEFAULT_MEDIA_LIMITS)).toBeNull();
    expect(declarationRefusal({ ...ok, name: 'a/b.png' }, DEFAULT_MEDIA_LIMITS)?.code).toBe('MEDIA_BAD_NAME');
  });

  it('allow by default only types whose first bytes are known', () => {
    for (const kind of Object.keys(DEFAULT_MEDIA_LIMITS) as (keyof typeof DEFAULT_MEDIA_LIMITS)[])
      for (const t of DEFAULT_MEDIA_LIMITS[kind].types) expect(SNIFFABLE_TYPES, `${kind}: ${t}`).toContain(t);
  });
});

describe('sniffing', () => {
  it('knows each type by its first bytes, and no type by another one\'s', () => {
    for (const [mime, sample] of Object.entries(SAMPLES)) {
      expect(sniffMatches(mime, sample), mime).toBe(true);
      for (const [other, otherSample] of Object.entries(SAMPLES)) if (other !== mime && other !== 'text/plain') expect(sniffMatches(mime, otherSample), `${mime} vs ${other}`).toBe(false);
      expect(sniffType(sample), mime).toBe(mime);
    }
  });

  it('tells MP3 frames without a tag, and refuses the reserved layer', () => {
    expect(sniffMatches('audio/mpeg', Buffer.from([0xff, 0xfb, 0x90, 0x64]))).toBe(true);
    expect(sniffMatches('audio/mpeg', Buffer.from([0xff, 0xe0, 0x90, 0x64]))).toBe(false);
  });

  it('takes text cut inside a character, refuses binary and broken UTF-8 as text', () => {
    const text = Buffer.from('naïve café ☕', 'utf8');
    expect(sniffMatches('text/plain', text.subarray(0, text.length - 1))).toBe(true);
    expect(sniffMatches('text/plain', Buffer.from([0x68, 0x69, 0x00, 0x21]))).toBe(false);
    expect(sniffMatches('text/plain', Buffer.from([0x68, 0xc3, 0x28, 0x21]))).toBe(false);
    expect(sniffMatches('text/plain', Buffer.from('MZ\u0090\u0000', 'latin1'))).toBe(false);
  });

  it('refuses what is too short to tell, and any type it does not know', () => {
    expect(sniffMatches('image/png', Buffer.from([0x89, 0x50]))).toBe(false);
    expect(sniffMatches('image/jpeg', Buffer.alloc(0))).toBe(false);
    expect(sniffMatches('image/bmp', Buffer.from('BM'))).toBe(false);
    expect(sniffType(Buffer.from([0x4d, 0x5a, 0x90, 0x00]))).toBeNull();
  });
});
