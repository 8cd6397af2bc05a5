/**
 * The open-loop schedule: send k is intended at `start + k * 1000 / rate`, whatever happened to
 * earlier sends. Latency is measured from that intended time, so a stalled generator or server
 * shows up as latency instead of silently lowering the rate (coordinated omission).
 */
export class OpenLoopSchedule {
  private next = 0;
  constructor(
    readonly startMs: number,
    readonly ratePerSec: number,
    readonly durationMs: number,
  ) {}

  get total(): number {
    return Math.floor((this.durationMs * this.ratePerSec) / 1000);
  }

  get issued(): number {
    return this.next;
  }

  intendedAt(k: number): number {
    return this.startMs + (k * 1000) / this.ratePerSec;
  }

  /** Intended times of every send due by `now` and not yet issued, in order. */
  due(now: number): number[] {
    const out: number[] = [];
    while (this.next < this.total && this.intendedAt(this.next) <= now) out.push(this.intendedAt(this.next++));
    return out;
  }

  get done(): boolean {
    return this.next >= this.total;
  }
}

/** Splits a total rate over n generators so the parts add up exactly. */
export function splitRate(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}
