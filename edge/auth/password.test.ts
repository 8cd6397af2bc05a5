import { describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, verifyPassword } from './password.js';

const fast = { N: 1024, r: 8, p: 1 };

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse', fast);
    expect(stored.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horsf', stored)).toBe(false);
  });

  it('salts every hash', async () => {
    const a = await hashPassword('same password', fast);
    const b = await hashPassword('same password', fast);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', b)).toBe(true);
  });

  it('uses the default N=2^15 parameters within Node memory limits', async () => {
    const stored = await hashPassword('default cost');
    expect(stored.split('$').slice(1, 4)).toEqual(['32768', '8', '1']);
    expect(await verifyPassword('default cost', stored)).toBe(true);
  });

  it('never matches a malformed stored hash', async () => {
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$0$8$1$AAAA$AAAA')).toBe(false);
  });

  it('asks for a rehash when parameters were raised', async () => {
    const stored = await hashPassword('pw', fast);
    expect(needsRehash(stored, fast)).toBe(false);
    expect(needsRehash(stored, { N: 1 << 15, r: 8, p: 1 })).toBe(true);
  });
});
