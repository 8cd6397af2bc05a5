import { describe, expect, it } from 'vitest';
import { healthySince } from './broker-health.js';

describe('healthySince', () => {
  it('counts from the last unbroken run of healthy probes, not the first healthy answer', () => {
    // Resumed: answers from its old state, is fenced, then leads again.
    const probes = [true, false, false, true, true].map((healthy, i) => ({ startedAt: 1_000 + i * 100, healthy }));
    expect(healthySince(probes)).toBe(1_300);
  });

  it('is null when the last probe failed or none ran', () => {
    expect(healthySince([{ startedAt: 1, healthy: true }, { startedAt: 2, healthy: false }])).toBeNull();
    expect(healthySince([])).toBeNull();
  });
});
