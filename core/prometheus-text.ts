/**
 * Reading one figure out of a Prometheus text exposition (a process's `/metrics` page): the sum
 * of a metric's samples over the label sets that carry every given label. Enough for the bench
 * and the chaos harness, which watch a few counters and gauges of processes they started.
 */
export function sampleSum(text: string, metric: string, labels: Readonly<Record<string, string>> = {}): number | null {
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    if (!Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value)) continue;
    sum += value;
    seen = true;
  }
  return seen ? sum : null;
}
