import { describe, expect, it } from 'vitest';
import { PlatformError } from './errors.js';
import { retry } from './retry.js';

const fast = { retries: 3, initialDelayMs: 1, maxDelayMs: 4 };

describe('retry', () => {
  it('retries a transient failure until it succeeds', async () => {
    let calls = 0;
    const result = await retry(async () => {
      if (++calls < 3) throw new PlatformError('TRANSIENT', 'try again', { retriable: true });
      return 'ok';
    }, fast);
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('never retries a programming error or a permanent failure', async () => {
    for (const err of [new TypeError('bug'), new PlatformError('BAD', 'permanent')]) {
      let calls = 0;
      await expect(retry(async () => { calls++; throw err; }, fast)).rejects.toBe(err);
      expect(calls).toBe(1);
    }
  });

  it('gives up after the configured retries with the last error', async () => {
    let calls = 0;
    const retried: number[] = [];
    await expect(
      retry(async () => { calls++; throw new PlatformError('X', `attempt ${calls}`, { retriable: true }); }, { ...fast, onRetry: (_e, attempt) => retried.push(attempt) }),
    ).rejects.toThrow('attempt 4');
    expect(retried).toEqual([1, 2, 3]);
  });
});
