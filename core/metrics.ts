import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process-wide Prometheus registry. Modules define their metrics next to their code with
 * the helpers below; `get*` returns the existing metric when a module is loaded twice (tests).
 */
export const registry = new Registry();
let defaultsOn = false;

/** Node's default metrics (event loop lag, heap, GC), once per process. */
export function enableDefaultMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry });
  // Beside prom-client's nodejs_external_memory_bytes: the part of it that is ArrayBuffers and
  // Buffers (socket frames, Kafka batches). RSS growing under a flat heap is one of these two,
  // or native memory neither counts (the soak samples all three).
  new Gauge({
    name: 'im_nodejs_array_buffers_bytes',
    help: "process.memoryUsage().arrayBuffers: memory of ArrayBuffers and Buffers, part of nodejs_external_memory_bytes",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().arrayBuffers);
    },
  });
}

type Labels<L extends string> = readonly L[];

export function counter<L extends string>(name: string, help: string, labelNames: Labels<L>): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter({ name, help, labelNames: [...labelNames], registers: [registry] });
}

export function gauge<L extends string>(name: string, help: string, labelNames: Labels<L>): Gauge<L> {
  return (registry.getSingleMetric(name) as Gauge<L> | undefined) ??
    new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });
}

/** Latency buckets in seconds, 0.5 ms to 10 s: IM latencies live in the low milliseconds. */
export const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function histogram<L extends string>(name: string, help: string, labelNames: Labels<L>, buckets = latencyBuckets): Histogram<L> {
  return (registry.getSingleMetric(name) as Histogram<L> | undefined) ??
    new Histogram({ name, help, labelNames: [...labelNames], buckets, registers: [registry] });
}
