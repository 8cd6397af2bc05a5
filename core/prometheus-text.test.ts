import { describe, expect, it } from 'vitest';
import { sampleSum } from './prometheus-text.js';

const page = [
  '# HELP im_consumer_lag Records behind',
  '# TYPE im_consumer_lag gauge',
  'im_consumer_lag{group="im.router",topic="im.ingress",partition="0"} 3',
  'im_consumer_lag{group="im.router",topic="im.ingress",partition="1"} 4',
  'im_consumer_lag{group="im.persistence",topic="im.msg.stamped",partition="0"} 10',
  'im_consumer_lag_other 99',
  'nodejs_eventloop_lag_p99_seconds 0.012',
  'process_open_fds 41',
  'weird_metric NaN',
].join('\n');

describe('sampleSum', () => {
  it('sums every label set of a metric, and only that metric', () => {
    expect(sampleSum(page, 'im_consumer_lag')).toBe(17);
    expect(sampleSum(page, 'process_open_fds')).toBe(41);
    expect(sampleSum(page, 'nodejs_eventloop_lag_p99_seconds')).toBeCloseTo(0.012);
  });

  it('keeps the label sets carrying every given label', () => {
    expect(sampleSum(page, 'im_consumer_lag', { group: 'im.router' })).toBe(7);
    expect(sampleSum(page, 'im_consumer_lag', { group: 'im.router', partition: '1' })).toBe(4);
  });

  it('is null for a metric the page does not have, or whose samples are not numbers', () => {
    expect(sampleSum(page, 'im_nothing')).toBeNull();
    expect(sampleSum(page, 'im_consumer_lag', { group: 'im.none' })).toBeNull();
    expect(sampleSum(page, 'weird_metric')).toBeNull();
  });
});
