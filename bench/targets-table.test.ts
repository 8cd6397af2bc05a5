import { describe, expect, it } from 'vitest';
import type { ClientRun, ClientStep } from './client-table.js';
import type { LatencySummary } from './histogram.js';
import type { RateStep } from './scenarios/direct.js';
import { targetRows, targetsTable } from './targets-table.js';
import { stepValidity } from './validity.js';

const lat = (p50: number, p99: number): LatencySummary => ({ count: 1, p50, p90: p99, p99, p999: p99, max: p99, mean: p50 });
const valid = stepValidity({ connections: { requested: 2, open: 2 }, sent: 1, acked: 1, sendErrors: {}, unanswered: 0, delivered: 1, expectedDeliveries: 1 });

function step(rate: number, ack: number, p50: number, p99: number, o: Partial<RateStep> = {}): RateStep {
  const sent = rate * 10;
  return {
    rate, seconds: 10, sent, acked: sent, delivered: sent, errors: {}, sendErrors: {}, unanswered: 0, open: 2, connections: 2, validity: valid,
    achievedDeliveriesPerSec: rate, sendToAck: lat(ack, ack * 3), sendToDelivery: lat(p50, p99), passes: p99 < 100, cpuSeconds: 12,
    cpu: { kafka: 0.5, 'sut-pipeline': 0.4, 'sut-gateway': 0.1, 'bench-worker-0': 0.25, 'machine:busy': 1.5, 'machine:other': 0.25 },
    saturation: { saturated: false, reason: '' }, persistenceLagMax: null, stages: null, ...o,
  };
}
const bare = (rate: number, p50: number): ClientStep => ({ rate, seconds: 10, sent: 10, acked: 10, delivered: 10, complete: true, sendToAck: lat(1, 2), sendToDelivery: lat(p50, p50 * 4), cpu: {}, cpuSeconds: 10, clientCpuMsPer1k: 1, brokerCpuMsPer1k: 1 });
const run = (steps: ClientStep[], o: Partial<ClientRun> = {}): ClientRun => ({ client: 'kafkajs', hops: 1, status: 'measured', reason: null, steps, ratePerCore: null, ...o });
const platform = { client: 'kafkajs' as const, hops: 1 };

describe("issue 8's targets", () => {
  it('grades each figure against its first bar and goal, from one invocation', () => {
    const steps = [step(1000, 3, 8, 40), step(2000, 4, 9, 90), step(3000, 9, 30, 250)];
    const rows = targetRows({ direct: { steps, persistence: true }, baseline: { platform, runs: [run([bare(1000, 6), bare(5000, 9)])] } });
    expect(rows.map((r) => [r.measured, r.verdict])).toEqual([
      ['2000 msg/s', 'PASS'],
      ['3 / 8 / 40 ms', 'PASS'],
      ['×1.33', 'PASS'],
      // (0.5 + 0.4 + 0.1) cores × 12 s over 10,000 messages.
      ['1.2 ms', 'reported'],
    ]);
    expect(rows[1]!.target).toBe('at 1,000 msg/s: send→ack p50 / send→delivery p50 / p99');
    expect(rows[2]!.target).toBe('pipeline ÷ bare Kafka (kafkajs, 1 hop), send→delivery p50 at 1000 msg/s');
    expect(rows[3]!.note).toContain('the load generator adds 0.3 ms');
  });

  it('meets the goal only when every part of a figure does, and fails on a lost message', () => {
    const goal = targetRows({ direct: { steps: [step(1000, 1.5, 3.5, 14)], persistence: true }, baseline: null });
    expect(goal[1]!.verdict).toBe('GOAL');
    const mixed = targetRows({ direct: { steps: [step(1000, 1.5, 3.5, 60)], persistence: true }, baseline: null });
    expect(mixed[1]!.verdict).toBe('FAIL');
    const lost = targetRows({ direct: { steps: [step(1000, 1, 2, 10, { delivered: 9999 })], persistence: true }, baseline: null });
    expect(lost[1]).toMatchObject({ verdict: 'FAIL', note: '9999 of 10000 messages delivered' });
    // A step that lost a message never holds the rate target either.
    expect(lost[0]!.verdict).toBe('FAIL');
  });

  it('says what could not be measured, and never calls it a pass', () => {
    const invalid = { ...valid, valid: false, reasons: ['x'] };
    const rows = targetRows({ direct: { steps: [step(500, 1, 2, 10), step(1000, 1, 2, 10, { validity: invalid })], persistence: true }, baseline: { platform, runs: [run([], { status: 'not installed', reason: 'no package' })] } });
    // The 1000 msg/s step is INVALID: the highest rate and the latency at 1000 msg/s depend on it.
    expect(rows.map((r) => r.verdict)).toEqual(['INVALID', 'INVALID', 'NOT MEASURED', 'reported']);
    expect(rows[0]).toMatchObject({ measured: '—', note: 'INVALID (1000 msg/s: x): the highest rate held is not known above 500 msg/s (held)' });
    expect(rows[1]).toMatchObject({ measured: '—', note: 'INVALID (1000 msg/s: x)' });
    expect(rows[2]!.note).toContain('was not measured: no package');
    const without = targetRows({ direct: { steps: [step(500, 1, 2, 10)], persistence: true }, baseline: null });
    expect(without.map((r) => r.verdict)).toEqual(['NOT MEASURED', 'NOT MEASURED', 'NOT MEASURED', 'reported']);
    expect(without[0]!.note).toContain('every tried rate held, up to 500 msg/s');
    expect(without[1]!.note).toContain('no direct step at 1000 msg/s');
    expect(targetRows({ direct: null, baseline: null }).every((r) => r.verdict === 'NOT MEASURED')).toBe(true);
    const table = targetsTable({ direct: { steps: [step(1000, 3, 8, 40)], persistence: false }, baseline: null });
    expect(table.join('\n')).toContain('the baseline scenario did not run in this invocation');
    expect(table.join('\n')).toContain('--persistence false');
    expect(table.filter((l) => l.includes('**PASS**')).length).toBe(1);
  });

  it('is INVALID, naming the step and why, wherever a figure depends on an INVALID step, and not where it does not', () => {
    const invalid = { ...valid, valid: false, reasons: ['only 990 of 1000 sockets open'] };
    const baseline = { platform, runs: [run([bare(1000, 6), bare(2000, 6)])] };
    // 1000 held, 2000 INVALID, 3000 did not hold: the highest rate is somewhere in 1000..2999.
    const between = targetRows({ direct: { steps: [step(1000, 3, 8, 40), step(2000, 4, 9, 90, { validity: invalid }), step(3000, 9, 30, 250)], persistence: true }, baseline });
    expect(between[0]).toMatchObject({ verdict: 'INVALID', note: 'INVALID (2000 msg/s: only 990 of 1000 sockets open): the highest rate held is not known above 1000 msg/s (held) below 3000 msg/s (did not hold)' });
    // The 1000 msg/s figures are valid and graded; the pipeline ratio is taken at 1000 msg/s.
    expect(between.slice(1, 3).map((r) => r.verdict)).toEqual(['PASS', 'PASS']);
    // An INVALID step above a rate that did not hold changes nothing.
    const above = targetRows({ direct: { steps: [step(1000, 3, 8, 40), step(2000, 4, 9, 90), step(3000, 9, 30, 250), step(4000, 1, 1, 1, { validity: invalid })], persistence: true }, baseline: null });
    expect(above[0]).toMatchObject({ verdict: 'PASS', measured: '2000 msg/s' });
    // The pipeline ÷ bare ratio at 1000 msg/s over an INVALID direct step.
    const ratio = targetRows({ direct: { steps: [step(1000, 3, 8, 40, { validity: invalid }), step(2000, 4, 9, 90)], persistence: true }, baseline });
    expect(ratio[2]).toMatchObject({ target: 'pipeline ÷ bare Kafka (kafkajs, 1 hop), send→delivery p50 at 1000 msg/s', verdict: 'INVALID', note: 'INVALID (direct 1000/s: only 990 of 1000 sockets open)' });
    expect(targetsTable({ direct: { steps: [step(1000, 3, 8, 40, { validity: invalid })], persistence: true }, baseline: null }).join('\n')).toContain('| INVALID |');
  });
});
