import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CloseCodes, ErrorCodes } from './codes.js';
import { CLIENT_FRAME_TYPES } from './frames.js';

/** docs/protocol.md and the code tables must not drift apart. */
const doc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');

describe('protocol document', () => {
  it('lists every error code', () => {
    const missing = Object.keys(ErrorCodes).filter((code) => !doc.includes(`| \`${code}\` |`));
    expect(missing).toEqual([]);
  });

  it('lists every close code with its number and reconnect flag', () => {
    const missing = Object.entries(CloseCodes).filter(([name, c]) => !doc.includes(`| \`${name}\` | ${c.code} | ${c.reconnect ? 'yes' : 'no'} | ${c.reason} |`));
    expect(missing.map(([name]) => name)).toEqual([]);
  });

  it('describes every client frame type', () => {
    expect(CLIENT_FRAME_TYPES.filter((t) => !doc.includes(`| \`${t}\` |`))).toEqual([]);
  });
});
