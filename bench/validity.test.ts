import { describe, expect, it } from 'vitest';
import { renderReport } from './report/html.js';
import type { BenchResult } from './results.js';
import type { RateStep } from './scenarios/direct.js';
import { summarize } from './summary.js';
import { addCounts, connectionValidity, invalidLabel, invalidSteps, stepValidity, type StepCounts } from './validity.js';

const lat = (p50: number, p99: number) => ({ count: 1, p50, p90: p99, p99, p999: p99, max: p99, mean: p50 });
const ok: StepCounts = { connections: { requested: 100, open: 100 }, sent: 1000, acked: 990, sendErrors: { RATE_LIMITED: 10 }, unanswered: 0, delivered: 990, expectedDeliveries: 990 };

describe('bench step validity', () => {
  it('accepts a step with every socket open and every send answered', () => {
    expect(stepValidity(ok)).toEqual({ valid: true, reasons: [], missingDeliveries: 0 });
  });

  it('counts missing deliveries as a measured loss, not as invalid', () => {
    expect(stepValidity({ ...ok, delivered: 900 })).toEqual({ valid: true, reasons: [], missingDeliveries: 90 });
  });

  it('refuses a step whose sockets were not all open', () => {
    // Another process on the port took half the connections (SO_REUSEPORT).
    const v = stepValidity({ ...ok, connections: { requested: 1000, open: 503 }, acked: 500, sendErrors: { NOT_OPEN: 500 }, delivered: 250, expectedDeliveries: 500 });
    expect(v.valid).toBe(false);
    expect(v.reasons).toEqual(['only 503 of 1000 sockets open', '500 sends on sockets that were not open']);
  });

  it('refuses a step whose sends are not all accounted for', () => {
    const v = stepValidity({ ...ok, acked: 900, unanswered: 90 });
    expect(v.valid).toBe(false);
    expect(v.reasons).toEqual(['90 of 1000 sends got neither an ack nor an error before the step ended']);
    expect(stepValidity({ ...ok, acked: 980 }).reasons).toEqual(['sent 1000 != acked 980 + errors 10 + unanswered 0']);
    expect(stepValidity({ ...ok, sent: 0, acked: 0, sendErrors: {}, delivered: 0, expectedDeliveries: 0 }).reasons).toEqual(['nothing was sent']);
  });

  it('refuses more deliveries than acknowledged sends can produce', () => {
    expect(stepValidity({ ...ok, delivered: 1200 }).reasons).toEqual(['1200 deliveries for 990 expected (duplicates or another step\'s messages)']);
    expect(stepValidity({ ...ok, delivered: 1200, expectedDeliveries: null })).toEqual({ valid: true, reasons: [], missingDeliveries: null });
  });

  it('adds collects: separate phases sum their unanswered sends, a draining burst keeps the latest', () => {
    const a = { sent: 10, acked: 6, sendErrors: { X: 1 }, unanswered: 3, delivered: 6 };
    const b = { sent: 0, acked: 3, sendErrors: { X: 1, Y: 1 }, unanswered: 0, delivered: 3 };
    expect(addCounts(a, b, true)).toEqual({ sent: 10, acked: 9, sendErrors: { X: 2, Y: 1 }, unanswered: 0, delivered: 9 });
    expect(addCounts(a, b, false).unanswered).toBe(3);
  });

  it('checks a connections step: all opened, none lost in the hold', () => {
    expect(connectionValidity(10, 10, 10, {}).valid).toBe(true);
    expect(connectionValidity(10, 8, 7, { ECONNREFUSED: 2 }).reasons).toEqual(['only 8 of 10 sockets opened (ECONNREFUSED 2)', '1 of 8 sockets closed during the hold']);
  });

  it('labels invalid steps in the summary, the JSON walk and the HTML report', () => {
    const bad = stepValidity({ ...ok, connections: { requested: 100, open: 50 } });
    const step = (rate: number, validity = stepValidity(ok)): RateStep => ({
      rate, seconds: 10, sent: 1000, acked: 990, delivered: 990, errors: {}, sendErrors: { RATE_LIMITED: 10 }, unanswered: 0, open: 100, connections: 100, validity,
      achievedDeliveriesPerSec: 99, sendToAck: lat(1, 2), sendToDelivery: lat(3, 4), passes: validity.valid, cpu: {}, cpuSeconds: 10, saturation: { saturated: false, reason: 'idle' }, persistenceLagMax: null, stages: null,
    });
    const figures = { steps: [step(100), step(200, bad)] };
    expect(invalidLabel(bad)).toBe('INVALID (only 50 of 100 sockets open)');
    expect(invalidSteps(figures)).toEqual(['steps[200/s]: only 50 of 100 sockets open']);
    const text = summarize([{ scenario: 'direct', configuration: {}, figures, latencyCurves: [], notes: [] }]);
    expect(text).toContain('- 100/s: 990/1000 delivered');
    expect(text).toContain('- 200/s: INVALID (only 50 of 100 sockets open); sent 1000');
    expect(text).not.toMatch(/200\/s: 990\/1000 delivered/);
    const result = { scenario: 'direct', figures, notes: [], series: { throughput: [], memory: [], latency: [] }, startedAt: '', durationSec: 1, git: { commit: 'abc', dirty: false }, configuration: {}, command: 'x', versions: {}, machine: { cpus: 2, cpuModel: 'x', memoryBytes: 1, kernel: 'x' } } as unknown as BenchResult;
    expect(renderReport([result], text)).toContain('<p class="invalid">INVALID, not measurements: steps[200/s]: only 50 of 100 sockets open</p>');
  });
});
