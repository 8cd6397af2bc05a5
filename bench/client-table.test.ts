import { describe, expect, it } from 'vitest';
import { clientTable, cpuMsPer1k, highestRatePerCore, parseTuning, type ClientRun, type ClientStep } from './client-table.js';
import type { LatencySummary } from './histogram.js';

const lat = (p50: number, p99: number): LatencySummary => ({ count: 1, p50, p90: p99, p99, p999: p99, max: p99, mean: p50 });

function step(rate: number, o: Partial<ClientStep> = {}): ClientStep {
  const sent = rate * 10;
  return { rate, seconds: 10, sent, acked: sent, delivered: sent, complete: true, sendToAck: lat(1, 5), sendToDelivery: lat(2, 10), cpu: {}, cpuSeconds: 15, clientCpuMsPer1k: 100, brokerCpuMsPer1k: 50, ...o };
}
const run = (client: ClientRun['client'], hops: number, steps: ClientStep[], o: Partial<ClientRun> = {}): ClientRun => ({ client, hops, status: 'measured', reason: null, steps, ratePerCore: highestRatePerCore(steps, 100), ...o });

describe('Kafka client table', () => {
  it('charges CPU per 1,000 delivered records from the cores used over the step', () => {
    // 0.5 cores for 12 s = 6 CPU-seconds for 30,000 records: 200 ms per 1,000.
    expect(cpuMsPer1k(0.5, 12, 30_000)).toBe(200);
    expect(cpuMsPer1k(undefined, 12, 30_000)).toBeNull();
    expect(cpuMsPer1k(0.5, 12, 0)).toBeNull();
  });

  it('takes the rate per core at the highest step that delivered everything under the bound', () => {
    const steps = [step(1000, { clientCpuMsPer1k: 250 }), step(5000, { clientCpuMsPer1k: 125 }), step(10_000, { sendToDelivery: lat(50, 400) })];
    // 125 ms of client CPU per 1,000 records: 8,000 records per CPU-second.
    expect(highestRatePerCore(steps, 100)).toEqual({ rate: 5000, perCore: 8000 });
    expect(highestRatePerCore([step(5000, { complete: false, delivered: 10 })], 100)).toBeNull();
  });

  it('bolds the winner of each column among complete steps at the same hops and rate, and marks partial steps', () => {
    const runs = [
      run('kafkajs', 1, [step(1000, { sendToAck: lat(2, 9), clientCpuMsPer1k: 160 })]),
      run('platformatic', 1, [step(1000, { sendToAck: lat(1, 20), clientCpuMsPer1k: 150 })]),
      // Fastest on paper, but it lost records: shown, never the winner.
      run('confluent', 1, [step(1000, { sendToAck: lat(0.5, 1), delivered: 9000, complete: false, clientCpuMsPer1k: 10 })]),
      run('kafkajs', 2, [step(1000, { sendToAck: lat(3, 9) })]),
    ];
    const lines = clientTable(runs, 100);
    const row = (client: string, hops: number): string[] => lines.find((l) => l.startsWith(`| ${client} | ${hops} | 1000 |`))!.split(' | ');
    // Columns: client, hops, rate, delivered, ack p50, ack p99, delivery p50, delivery p99, client CPU, broker CPU.
    expect(row('platformatic', 1)[4]).toBe('**1**');
    expect(row('kafkajs', 1)[5]).toBe('**9**');
    expect(row('platformatic', 1)[8]).toBe('**150**');
    // Equal figures share the win.
    expect(row('kafkajs', 1)[6]).toBe('**2**');
    expect(row('platformatic', 1)[6]).toBe('**2**');
    expect(row('confluent', 1)[3]).toBe('PARTIAL 9000/10000');
    expect(row('confluent', 1)[4]).toBe('0.5');
    // Alone at 2 hops: nothing to win against.
    expect(row('kafkajs', 2)[4]).toBe('3');
  });

  it('says a client that is not installed, and compares the rate per core per hop count', () => {
    const runs = [
      run('kafkajs', 1, [step(1000, { clientCpuMsPer1k: 200 })]),
      run('platformatic', 1, [step(1000, { clientCpuMsPer1k: 100 })]),
      run('confluent', 1, [], { status: 'not installed', reason: 'needs @confluentinc/kafka-javascript' }),
    ];
    const lines = clientTable(runs, 100);
    expect(lines).toContain('| confluent | 1 | — | NOT INSTALLED: needs @confluentinc/kafka-javascript |  |  |  |  |  |  |');
    expect(lines).toContain('| platformatic | 1 | **10000** | 1000/s |');
    expect(lines).toContain('| kafkajs | 1 | 5000 | 1000/s |');
    expect(lines).toContain('| confluent | 1 | not installed | — |');
  });

  it('reads --tuning as a KafkaTuning and refuses anything else', () => {
    expect(parseTuning(undefined)).toEqual({});
    expect(parseTuning('{"lingerMs":0,"fetchMaxWaitMs":10}')).toEqual({ lingerMs: 0, fetchMaxWaitMs: 10 });
    expect(() => parseTuning('{"linger":1}')).toThrow(/unknown field linger/);
    expect(() => parseTuning('{"lingerMs":-1}')).toThrow(/non-negative/);
    expect(() => parseTuning('lingerMs=1')).toThrow(/must be JSON/);
  });
});
