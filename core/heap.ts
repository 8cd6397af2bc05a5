import { setFlagsFromString } from 'node:v8';

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

/**
 * With node's --expose-gc, `signal` runs a full collection: a hook for memory measurements (the
 * bench's connections and soak scenarios), so the heap reads what is live rather than what the
 * next collection would free. Without the flag it does nothing.
 */
export function collectOnSignal(signal: NodeJS.Signals = 'SIGUSR2'): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) process.on(signal, () => gc());
}
