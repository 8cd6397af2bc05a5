import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generatedPng, mediaTable, type MediaFigures } from './media.js';
import { MediaLedger, mediaValidity } from './media-ledger.js';

describe('media bench scenario', () => {
  it('generates a valid, incompressible PNG of about the size asked, different each time', () => {
    const png = generatedPng(2 * 1024 * 1024);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    const side = png.readUInt32BE(16);
    expect(png.readUInt32BE(20)).toBe(side);
    expect(Math.abs(png.length - 2 * 1024 * 1024)).toBeLessThan(16 * 1024);
    // The IDAT chunk inflates to one filter byte and 3 bytes per pixel on every row.
    const idatLength = png.readUInt32BE(33);
    expect(png.toString('latin1', 37, 41)).toBe('IDAT');
    expect(inflateSync(png.subarray(41, 41 + idatLength)).length).toBe(side * (side * 3 + 1));
    expect(png.toString('latin1', png.length - 8, png.length - 4)).toBe('IEND');
    expect(generatedPng(1000).equals(generatedPng(1000))).toBe(false);
  });

  it('tabulates an INVALID step as its reasons, never its figures', () => {
    const ledger = new MediaLedger();
    ledger.slotAsked('k', 10, 0);
    const counts = ledger.counts();
    const f: MediaFigures = { pairs: 1, imageBytes: 10, store: 'local', counts, throughput: ledger.throughput(), latency: ledger.timings(), cpu: {}, validity: mediaValidity(counts, { requested: 2, open: 2 }) };
    expect(mediaTable(f).lines.at(-1)).toBe('| 1 pairs | INVALID (nothing was sent; 1 of 1 upload slots got no answer) |');
  });
});
