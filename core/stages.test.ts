import { describe, expect, it } from 'vitest';
import { ACCEPTED_AT_HEADER } from './logger.js';
import { passStage, reachStage, STAGE_AT_HEADER, STAGE_HEADER, stageMetrics } from './stages.js';

/** Count and sum of one labelled series of a histogram, from prom-client's own snapshot. */
async function series(metric: 'sinceAccepted' | 'step', labels: Record<string, string>): Promise<{ count: number; sum: number }> {
  const { values } = await stageMetrics[metric].get();
  const matches = (l: Record<string, string | number>): boolean => Object.entries(labels).every(([k, v]) => l[k] === v);
  const pick = (suffix: string): number => values.find((v) => v.metricName?.endsWith(suffix) && matches(v.labels))?.value ?? 0;
  return { count: pick('_count'), sum: pick('_sum') };
}

describe('stages of a message', () => {
  it('stamps each stage and observes its increment since the one before, which add up to the total', async () => {
    const run = `t${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
    const [a, b, c] = [`${run}:a`, `${run}:b`, `${run}:c`];
    const headers: Record<string, string> = { [ACCEPTED_AT_HEADER]: '1000' };
    passStage(headers, a, 1004);
    passStage(headers, b, 1010);
    // Off the path: observed, not stamped.
    expect(reachStage(headers, `${run}:beside`, 1030)).toBe(true);
    passStage(headers, c, 1013);
    passStage(headers, c, 1020);

    expect(headers).toMatchObject({ [STAGE_HEADER]: c, [STAGE_AT_HEADER]: '1013' });
    expect(await series('step', { stage: a, from: 'gateway:accepted' })).toEqual({ count: 1, sum: 0.004 });
    expect(await series('step', { stage: b, from: a })).toEqual({ count: 1, sum: 0.006 });
    expect(await series('step', { stage: `${run}:beside`, from: b })).toEqual({ count: 1, sum: 0.02 });
    expect(await series('step', { stage: c, from: b })).toEqual({ count: 1, sum: 0.003 });
    // The record was already at c: the second pass counts nothing.
    expect(await series('sinceAccepted', { stage: c })).toEqual({ count: 1, sum: 0.013 });
  });

  it('leaves records that do not descend from a gateway frame alone', async () => {
    const stage = `plain${Date.now()}`;
    const headers: Record<string, string> = { 'im-correlation-id': 'x' };
    passStage(headers, stage, 5);
    expect(headers).toEqual({ 'im-correlation-id': 'x' });
    expect((await series('sinceAccepted', { stage })).count).toBe(0);
  });
});
