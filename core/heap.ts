import { setFlagsFromString } from 'node:v8';
import { gauge } from './metrics.js';

/**
 * Fixes how far the JS heap may grow past what is live before V8 collects it in full.
 *
 * V8 chooses that factor itself, up to 4x the live size for a small heap, from how fast it
 * collects against how fast the process allocates. Under a steady 38 msg/s the pipeline process
 * (about 90 MiB live) swung between 220 and 460 MiB of RSS as V8 re-chose it, so a soak could not
 * tell heap sizing from a leak, and an operator's memory limit had to allow for the swing. At
 * 50% the same process held 253-261 MiB for 10 minutes, for about 8% more of its CPU (more
 * frequent full collections). The flag is read at each collection, so setting it at start-up
 * takes effect although V8 is already running.
 */
export function applyHeapGrowing(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** A full collection now: node's `gc`, present with --expose-gc (else undefined). */
export const fullCollection = (globalThis as { gc?: () => void }).gc;

const liveHeap = gauge('im_nodejs_heap_live_bytes', "The JS heap used, and external memory, read right after the last full collection asked for by signal (core/heap.ts): live objects only, no garbage of the seconds since; absent until one ran", ['part'] as const);

/**
 * With node's --expose-gc, `signal` runs a full collection: a hook for memory measurements (the
 * bench's connections and soak scenarios), so the heap reads what is live rather than what the
 * next collection would free. What is live is read at once and kept as im_nodejs_heap_live_bytes:
 * a heap read seconds later holds the garbage of those seconds (10,000 idle connections'
 * heartbeats put megabytes there, more the more connections, and the heap seemed to grow 7.5 KiB
 * per connection). Without the flag it does nothing.
 */
export function collectOnSignal(signal: NodeJS.Signals = 'SIGUSR2'): void {
  if (!fullCollection) return;
  const gc = fullCollection;
  process.on(signal, () => {
    gc();
    const m = process.memoryUsage();
    liveHeap.set({ part: 'heap_used' }, m.heapUsed);
    liveHeap.set({ part: 'external' }, m.external);
  });
}
