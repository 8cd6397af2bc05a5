import { describe, expect, it } from 'vitest';
import { KeyValueState, stateLimitsFor, type EvictionReason } from './table.js';

describe('a bounded state', () => {
  it('forgets the oldest write first once it holds more keys than its limit, index included', () => {
    const evicted: EvictionReason[] = [];
    const s = new KeyValueState<number>({ maxEntries: 3 }, (r) => evicted.push(r));
    s.apply('c1|1', 1, 10);
    s.apply('c1|2', 2, 20);
    s.apply('c2|1', 3, 30);
    // Rewriting a key makes it the newest: c1|2 is now the oldest.
    s.apply('c1|1', 11, 40);
    s.apply('c2|2', 4, 50);
    expect([...s.entries()].map(([k]) => k).sort()).toEqual(['c1|1', 'c2|1', 'c2|2']);
    expect([...s.withPrefix('c1')].map(([k, v]) => [k, v])).toEqual([['c1|1', 11]]);
    expect(s.get('c1|2')).toBeUndefined();
    expect(s.size).toBe(3);
    expect(evicted).toEqual(['size']);
  });

  it('forgets keys last written longer ago than its retention, at the next write', () => {
    const evicted: EvictionReason[] = [];
    const s = new KeyValueState<string>({ retentionMs: 1000 }, (r) => evicted.push(r));
    s.apply('a', 'x', 1_000);
    s.apply('b', 'y', 1_500);
    s.apply('c', 'z', 2_100);
    expect(s.get('a')).toBeUndefined();
    expect(s.get('b')).toBe('y');
    s.apply('b', 'y2', 2_400);
    s.apply('d', 'w', 3_200);
    expect([...s.entries()].map(([k]) => k)).toEqual(['b', 'd']);
    expect(evicted).toEqual(['retention', 'retention']);
  });

  it('a deletion frees its place; an unbounded state keeps every key whatever its age', () => {
    const bounded = new KeyValueState<number>({ maxEntries: 2 });
    bounded.apply('a', 1, 1);
    bounded.apply('a', null, 2);
    bounded.apply('b', 2, 3);
    bounded.apply('c', 3, 4);
    expect([...bounded.entries()].map(([k]) => k)).toEqual(['b', 'c']);
    const unbounded = new KeyValueState<number>();
    for (let i = 0; i < 1000; i++) unbounded.apply(`k${i}`, i, i * 1e9);
    expect(unbounded.size).toBe(1000);
  });
});

describe('stateLimitsFor', () => {
  it("takes the changelog's retention where the topic deletes old records, then the deployment's bounds", () => {
    expect(stateLimitsFor('im.state.dedup')).toEqual({ retentionMs: 604_800_000 });
    expect(stateLimitsFor('im.state.messages', { 'im.state.messages': { maxEntries: 10 } })).toEqual({ retentionMs: 2_592_000_000, maxEntries: 10 });
    // Compacted only: kept for ever, unless a deployment bounds it.
    expect(stateLimitsFor('im.state.sequences')).toEqual({});
    expect(stateLimitsFor('im.state.members', { 'im.state.dedup': { maxEntries: 1 } })).toEqual({});
  });
});
