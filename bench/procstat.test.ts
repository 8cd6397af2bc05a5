import { describe, expect, it } from 'vitest';
import { CpuMeter } from './procstat.js';

/** Keeps this process busy for `ms`: long enough for the kernel's CPU counters (10 ms ticks) to move. */
function busyFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) Math.sqrt(Math.random());
}

describe('CPU per process over an interval', () => {
  it('measures a process that ran through the interval, and the busy cores outside the named ones', () => {
    const meter = new CpuMeter(() => new Map([['bench', process.pid]]));
    meter.begin();
    busyFor(50);
    const cpu = meter.end();
    expect(cpu.bench).toBeGreaterThan(0);
    expect(cpu['machine:busy']).toBeGreaterThanOrEqual(0);
    expect(cpu['machine:other']).toBeGreaterThanOrEqual(0);
    expect(meter.restarted).toEqual([]);
  });

  it('reports no figure for a name whose process was replaced (a restart), nor for what lies outside the named processes', () => {
    // Another live process under the same name at the end: the first one's time is gone with it.
    let pid = process.pid;
    const meter = new CpuMeter(() => new Map([['sut-persistence', pid]]));
    meter.begin();
    busyFor(50);
    pid = process.ppid;
    const cpu = meter.end();
    expect(meter.restarted).toEqual(['sut-persistence']);
    expect(cpu['sut-persistence']).toBeUndefined();
    expect(cpu['machine:other']).toBeUndefined();
    expect(cpu['machine:busy']).toBeGreaterThanOrEqual(0);
  });
});
