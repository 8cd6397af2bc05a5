import { describe, expect, it } from 'vitest';
import { parseSlabinfo } from '../procstat.js';
import { memoryFigures, slope, type MemorySample } from './connections.js';

const SLABINFO = `slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
TCP                  117    117   2368   13    8 : tunables    0    0    0 : slabdata      9      9      0
dentry            471389 471471    192   21    1 : tunables    0    0    0 : slabdata  22451  22451      0
`;

/** A sample at n connections whose memory grows by the given bytes per connection over a base. */
function sampleAt(n: number, rssPer: number, tcpPer: number, noise = 0): MemorySample {
  return {
    connections: n,
    open: n,
    authenticated: n,
    rssBytes: { gw: 100e6 + n * rssPer + noise },
    rssTotalBytes: 100e6 + n * rssPer + noise,
    heapFreeBytes: null,
    slabBytes: { TCP: 1e6 + n * tcpPer, sock_inode_cache: n * 1664, filp: n * 384, dentry: 5e7 + n * 384, eventpoll_epi: n * 256, tcp_bind_bucket: n * 64 },
    meminfoSlabBytes: 3e8 + n * 10_000,
    tcpMemPages: 200,
  };
}

describe('connections: memory per connection', () => {
  it('reads slab caches as whole slabs (num_slabs x pages per slab)', () => {
    const caches = parseSlabinfo(SLABINFO);
    expect(caches.get('TCP')).toEqual({ activeObjects: 117, objectSize: 2368, bytes: 9 * 8 * 4096 });
    expect(caches.get('dentry')?.bytes).toBe(22451 * 4096);
    expect(caches.size).toBe(2);
  });

  it('takes the least-squares slope over the connection counts', () => {
    expect(slope([[25_000, 1e8 + 25_000 * 3000], [50_000, 1e8 + 50_000 * 3000], [75_000, 1e8 + 75_000 * 3000]])).toBeCloseTo(3000, 6);
    expect(slope([[10, 5]])).toBe(0);
  });

  it('counts half the socket caches as the server end, the bind buckets apart, and judges the total against 8 KiB', () => {
    const { figures, reasons } = memoryFigures([25_000, 50_000, 75_000, 100_000].map((n) => sampleAt(n, 3000, 4736)), 7);
    expect(reasons).toEqual([]);
    expect(figures.server.rssPerConnection).toBe(3000);
    expect(figures.kernel.socketCachesBothEnds).toBe(4736 + 1664 + 384 + 384 + 256);
    expect(figures.kernel.serverEnd).toBe((4736 + 1664 + 384 + 384 + 256) / 2);
    expect(figures.kernel.clientOnly).toBe(64);
    expect(figures.serverTotalPerConnection).toBe(3000 + 3712);
    expect(figures.verdict).toBe('PASS');
  });

  it("takes the JS heap's free space out of RSS: freed pages V8 keeps are not the connections'", () => {
    // RSS grows 1,000 B/conn, but the heap's free space fell by 2,000 B/conn as connections came
    // (live objects filled pages V8 already held): the connections hold 3,000 B each.
    const samples = [25_000, 50_000, 75_000, 100_000].map((n) => ({ ...sampleAt(n, 1000, 4736), heapFreeBytes: 300e6 - n * 2000 }));
    const { figures, reasons } = memoryFigures(samples, 3);
    expect(reasons).toEqual([]);
    expect(figures.server.rssPerConnection).toBe(3000);
    expect(figures.server.rawRssPerConnection).toBe(1000);
  });

  it('gives no figure when the RSS does not grow with the connections', () => {
    const shrinking = [10_000, 20_000].map((n, i) => sampleAt(n, 0, 4736, i === 0 ? 40e6 : 0));
    const { figures, reasons } = memoryFigures(shrinking, 1);
    expect(figures.verdict).toBe('NOT MEASURED');
    expect(figures.serverTotalPerConnection).toBeNull();
    expect(reasons.join()).toMatch(/RSS did not grow with the connections \(slope -4000 B\/conn over 10000\/20000\)/);
  });
});
