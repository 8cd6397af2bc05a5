import koffi from 'koffi';
import { fullCollection } from '../core/heap.js';
import { listenExclusive, loadNativeUws } from '../edge/gateway/uws.js';

/**
 * uWebSockets.js holding sockets and nothing else: the gateway's socket options, an empty
 * user-data object per socket, a heartbeat answered. The connections scenario ramps the same
 * connections onto it as onto the gateway; the slope of malloc's bytes in use is what uWS
 * allocates per socket in native memory, which the gateway's own RSS cannot show under the noise
 * of its JIT, heap and allocator (its RSS fell while 7,500 connections were added). Started by the bench:
 *   node --expose-gc --import tsx bench/uws-bare-server.ts PORT
 * GET /heap collects garbage and answers `process.memoryUsage()` and malloc's bytes in use.
 */
const port = Number(process.argv[2]);
const uws = loadNativeUws();

/**
 * glibc's count of bytes malloc has handed out and not had back, over every arena (mallinfo2:
 * `uordblks` plus the chunks it mapped on their own, `hblkhd`). Unlike RSS it moves with what is
 * live, not with what the allocator keeps after a connect storm: the process's RSS read 81, 80,
 * 76, 78 MiB at 2,500-10,000 sockets.
 */
const libc = koffi.load('libc.so.6');
const MallInfo2 = koffi.struct('mallinfo2', { arena: 'size_t', ordblks: 'size_t', smblks: 'size_t', hblks: 'size_t', hblkhd: 'size_t', usmblks: 'size_t', fsmblks: 'size_t', uordblks: 'size_t', fordblks: 'size_t', keepcost: 'size_t' });
const mallinfo2 = libc.func('mallinfo2', MallInfo2, []) as () => Record<'uordblks' | 'hblkhd', number | bigint>;
const mallocInUse = (): number => {
  const m = mallinfo2();
  return Number(m.uordblks) + Number(m.hblkhd);
};

const HEARTBEAT = '{"type":"heartbeat"}';
const app = uws
  .App()
  .ws<Record<string, never>>('/ws', {
    // As the gateway (edge/gateway/gateway.ts): no deflate, no uWS timeouts or pings.
    maxPayloadLength: 64 * 1024,
    idleTimeout: 0,
    sendPingsAutomatically: false,
    maxBackpressure: 1 << 20,
    compression: uws.DISABLED,
    upgrade: (res, req, context) =>
      res.upgrade({}, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context),
    message: (ws) => void ws.send(HEARTBEAT),
  })
  // What is live: collected first, as the gateway reads its heap right after a collection.
  .get('/heap', (res) => {
    fullCollection?.();
    res.end(JSON.stringify({ ...process.memoryUsage(), mallocInUse: mallocInUse() }));
  });
// Alone on its port: a process already there would otherwise take a share of the sockets.
await listenExclusive(app, '127.0.0.1', port);
