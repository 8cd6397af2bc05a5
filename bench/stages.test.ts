import { describe, expect, it } from 'vitest';
import { stageBreakdown } from './stages.js';

describe('stage breakdown from a Prometheus snapshot', () => {
  it('interpolates percentiles per stage and orders stages along the path', () => {
    const prom = [
      '# HELP im_stage_seconds x',
      'im_stage_seconds_bucket{le="0.001",stage="router:in"} 50',
      'im_stage_seconds_bucket{le="0.005",stage="router:in"} 100',
      'im_stage_seconds_bucket{le="+Inf",stage="router:in"} 100',
      'im_stage_seconds_bucket{stage="push-realtime:done",le="0.001"} 0',
      'im_stage_seconds_bucket{le="0.01",stage="push-realtime:done"} 10',
      'im_stage_seconds_bucket{le="0.02",stage="push-realtime:done"} 20',
      'im_stage_seconds_bucket{le="+Inf",stage="push-realtime:done"} 20',
      'im_stage_seconds_bucket{le="0.01",stage="idle"} 0',
      'im_stage_seconds_bucket{le="+Inf",stage="idle"} 0',
    ].join('\n');
    expect(stageBreakdown(prom)).toEqual([
      { stage: 'router:in', count: 100, p50Ms: 1, p99Ms: 4.9 },
      { stage: 'push-realtime:done', count: 20, p50Ms: 10, p99Ms: 19.8 },
    ]);
  });
});
