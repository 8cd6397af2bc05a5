import { describe, expect, it } from 'vitest';
import { compareFigures, formatComparison } from './compare.js';

describe('compare', () => {
  const a = { figures: { steps: [{ rate: 1000, sendToDelivery: { p50: 4, p99: 20 } }], maxRateP99: 2000, label: 'x' } };
  const b = { figures: { steps: [{ rate: 1000, sendToDelivery: { p50: 2, p99: 30 } }], maxRateP99: 3000, extra: 5 } };

  it('pairs numeric figures by path (steps by rate) and gives b/a', () => {
    const rows = compareFigures(a, b);
    expect(rows).toContainEqual({ path: 'steps[1000].sendToDelivery.p50', a: 4, b: 2, ratio: 0.5 });
    expect(rows).toContainEqual({ path: 'steps[1000].sendToDelivery.p99', a: 20, b: 30, ratio: 1.5 });
    expect(rows).toContainEqual({ path: 'maxRateP99', a: 2000, b: 3000, ratio: 1.5 });
    expect(rows.find((r) => r.path === 'extra')).toBeUndefined();
  });

  it('reports n/a for a zero baseline and can hide unchanged figures', () => {
    const rows = compareFigures({ figures: { e: 0, same: 3 } }, { figures: { e: 2, same: 3 } });
    expect(rows.find((r) => r.path === 'e')?.ratio).toBeNull();
    const text = formatComparison(rows, true);
    expect(text).toContain('n/a');
    expect(text).not.toContain('same');
  });
});
