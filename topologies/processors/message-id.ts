import { randomBytes } from 'node:crypto';

/** Crockford base32: sortable as plain strings, no ambiguous letters. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastMs = -1;
let lastRandom: number[] = [];

/**
 * A time-ordered server message id (ULID layout): 10 characters of 48-bit millisecond time,
 * then 16 characters of 80 random bits. Within one millisecond the random part is incremented,
 * so ids made by one process sort in creation order; across processes they sort by time.
 */
export function newMessageId(now: number): string {
  if (now <= lastMs) {
    now = lastMs;
    increment(lastRandom);
  } else {
    lastMs = now;
    lastRandom = [...randomBytes(16)].map((b) => b & 31);
  }
  let time = '';
  for (let i = 0, t = now; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32] + time;
  return time + lastRandom.map((d) => ALPHABET[d]).join('');
}

function increment(digits: number[]): void {
  for (let i = digits.length - 1; i >= 0; i--) {
    if (digits[i]! < 31) {
      digits[i]!++;
      return;
    }
    digits[i] = 0;
  }
}

/** The millisecond timestamp an id was made at. */
export function messageIdTime(id: string): number {
  let t = 0;
  for (const ch of id.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(ch);
  return t;
}
