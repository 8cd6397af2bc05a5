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
    heap: null,
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
    expect(figures.server.perConnection).toBe(3000);
    expect(figures.server.method).toBe('rss');
    expect(figures.kernel.socketCachesBothEnds).toBe(4736 + 1664 + 384 + 384 + 256);
    expect(figures.kernel.serverEnd).toBe((4736 + 1664 + 384 + 384 + 256) / 2);
    expect(figures.kernel.clientOnly).toBe(64);
    expect(figures.serverTotalPerConnection).toBe(3000 + 3712);
    expect(figures.verdict).toBe('PASS');
  });

  it("takes the JS heap's free space out of RSS: freed pages V8 keeps are not the connections'", () => {
    // RSS grows 1,000 B/conn, but the heap's free space fell by 2,000 B/conn as connections came
    // (live objects filled pages V8 already held): the connections hold 3,000 B each.
    const samples = [25_000, 50_000, 75_000, 100_000].map((n) => ({ ...sampleAt(n, 1000, 4736), heap: { committed: 400e6, used: 100e6 + n * 2000, external: 5e6 } }));
    const { figures, reasons } = memoryFigures(samples, 3);
    expect(reasons).toEqual([]);
    expect(figures.server.method).toBe('rss');
    expect(figures.server.perConnection).toBe(3000);
    expect(figures.server.rss).toBe(1000);
  });

  it("counts a gateway connection by part when a bare uWS process held the same sockets: live heap, external memory, uWS's native memory", () => {
    // The gateway's RSS fell while connections were added (a connect storm's memory handed
    // back); its live heap grew 1,500 B and its Buffers 100 B per connection; bare uWS's malloc
    // had 400 B more in use per socket.
    const gateway = [2_500, 5_000, 7_500, 10_000].map((n) => ({ ...sampleAt(n, -400, 4736), heap: { committed: 200e6, used: 80e6 + n * 1500, external: 3e6 + n * 100 } }));
    // Its RSS says less than malloc's own count: that count is the native part where reported.
    const bare = [2_500, 5_000, 7_500, 10_000].map((n) => ({ ...sampleAt(n, -100, 4736), heap: { committed: 8e6, used: 5e6, external: 1e6, mallocInUse: 4e6 + n * 400 } }));
    const { figures, reasons } = memoryFigures(gateway, 3, bare);
    expect(reasons).toEqual([]);
    expect(figures.server).toMatchObject({ method: 'parts', heapUsed: 1500, external: 100, nativeSocket: 400, perConnection: 2000 });
    // The RSS cross-checks are kept, not used.
    expect(figures.server.rss).toBe(-400);
    expect(figures.serverTotalPerConnection).toBe(2000 + 3712);
    expect(figures.verdict).toBe('PASS');
  });

  it('gives no figure by part when the live heap or the bare process did not grow', () => {
    const gateway = [2_500, 5_000].map((n) => ({ ...sampleAt(n, 0, 4736), heap: { committed: 200e6, used: 80e6, external: 3e6 } }));
    const bare = [2_500, 5_000].map((n, i) => ({ ...sampleAt(n, 0, 4736, i === 0 ? 1e6 : 0), heap: { committed: 8e6, used: 5e6, external: 1e6 } }));
    const { figures, reasons } = memoryFigures(gateway, 3, bare);
    expect(figures.verdict).toBe('NOT MEASURED');
    expect(figures.server.perConnection).toBeNull();
    expect(reasons.join()).toMatch(/live JS heap did not grow/);
    expect(reasons.join()).toMatch(/bare uWS process's memory did not grow with its sockets \(slope -400 B\/conn/);
  });

  it('gives no figure when the RSS does not grow with the connections', () => {
    const shrinking = [10_000, 20_000].map((n, i) => sampleAt(n, 0, 4736, i === 0 ? 40e6 : 0));
    const { figures, reasons } = memoryFigures(shrinking, 1);
    expect(figures.verdict).toBe('NOT MEASURED');
    expect(figures.serverTotalPerConnection).toBeNull();
    expect(reasons.join()).toMatch(/RSS did not grow with the connections \(slope -4000 B\/conn over 10000\/20000\)/);
  });
});
