import { describe, expect, it } from 'vitest';
import { directRoads, readStages, stageBreakdown, stageRoad, stagesSince, stageTable } from './stages.js';

/** A Prometheus histogram series with the given counts per upper bound (cumulative, as exposed). */
function series(name: string, labels: string, counts: [string, number][]): string[] {
  return counts.map(([le, n]) => `${name}_bucket{${labels},le="${le}"} ${n}`);
}
const step = (from: string, stage: string, counts: [string, number][]): string[] => series('im_stage_step_seconds', `stage="${stage}",from="${from}"`, counts);
const total = (stage: string, counts: [string, number][]): string[] => series('im_stage_seconds', `stage="${stage}"`, counts);

describe('stage breakdown from Prometheus snapshots', () => {
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

  it('sums the processes and keeps only what happened between two snapshots', () => {
    const gateway = total('gateway:written:message', [['0.01', 4], ['+Inf', 4]]).join('\n');
    const pipelineBefore = total('router:in', [['0.001', 10], ['0.01', 10], ['+Inf', 10]]).join('\n');
    const pipelineAfter = total('router:in', [['0.001', 10], ['0.01', 30], ['+Inf', 30]]).join('\n');
    const during = stagesSince(readStages([gateway, pipelineAfter]), readStages([pipelineBefore]));
    // The 20 records of the step all sat in the 1-10 ms bucket: the ones before it are gone.
    expect([...during.total.get('router:in')!]).toEqual([[0.001, 0], [0.01, 20], [Infinity, 20]]);
    expect([...during.total.get('gateway:written:message')!]).toEqual([[0.01, 4], [Infinity, 4]]);
  });

  it('walks each road back from its end, with the increments, the totals and the stages beside it', () => {
    const b = (n: number): [string, number][] => [['0.001', 0], ['0.002', n], ['+Inf', n]];
    const prom = [
      ...step('gateway:accepted', 'ingress:sent', b(100)),
      ...step('ingress:sent', 'ingress:acked', b(100)),
      ...step('ingress:sent', 'router:consumed', b(100)),
      ...step('router:consumed', 'stamper:processed', b(100)),
      // A few records came to the stamper another way: the road follows the most.
      ...step('gateway:accepted', 'stamper:processed', b(3)),
      ...step('stamper:processed', 'router:sent', b(100)),
      ...step('router:sent', 'router:acked', b(100)),
      ...step('stamper:processed', 'router:effects', b(100)),
      ...step('router:sent', 'push-orchestrator:consumed', b(100)),
      ...step('push-orchestrator:consumed', 'push-orchestrator:acked', b(100)),
      ...step('push-orchestrator:acked', 'push-realtime:published:message', b(100)),
      ...step('router:effects', 'push-realtime:published:ack', b(100)),
      ...step('push-realtime:published:message', 'gateway:received:message', b(100)),
      ...step('push-realtime:published:ack', 'gateway:received:ack', b(100)),
      ...step('gateway:received:message', 'gateway:written:message', b(100)),
      ...step('gateway:received:ack', 'gateway:written:ack', b(100)),
      ...total('gateway:written:message', [['0.01', 0], ['0.02', 100], ['+Inf', 100]]),
      ...total('gateway:written:ack', [['0.005', 0], ['0.01', 100], ['+Inf', 100]]),
    ].join('\n');
    const snap = readStages([prom]);
    const roads = directRoads(snap);
    expect(roads.delivery!.stages.map((r) => r.stage)).toEqual([
      'ingress:sent', 'router:consumed', 'stamper:processed', 'router:sent', 'push-orchestrator:consumed', 'push-orchestrator:acked', 'push-realtime:published:message', 'gateway:received:message', 'gateway:written:message',
    ]);
    expect(roads.ack!.stages.map((r) => r.stage)).toEqual(['ingress:sent', 'router:consumed', 'stamper:processed', 'router:effects', 'push-realtime:published:ack', 'gateway:received:ack', 'gateway:written:ack']);
    // Nine increments at p50 1.5 ms each; the last stage's own total is 15 ms.
    expect(roads.delivery!.sumP50Ms).toBe(13.5);
    expect(roads.delivery!).toMatchObject({ totalP50Ms: 15, totalP99Ms: 19.9 });
    expect(roads.delivery!.stages[0]).toEqual({ stage: 'ingress:sent', from: 'gateway:accepted', count: 100, p50Ms: 1.5, p99Ms: 2, totalP50Ms: 0, totalP99Ms: 0 });
    expect(roads.delivery!.beside.map((r) => `${r.from}>${r.stage}`)).toEqual(['ingress:sent>ingress:acked', 'stamper:processed>router:effects', 'router:sent>router:acked']);
    expect(stageRoad(snap, 'gateway:written:typing')).toBeNull();

    const table = stageTable(roads, { ackP50Ms: 12, deliveryP50Ms: 18 });
    expect(table.filter((l) => l.startsWith('| both |')).length).toBe(3);
    expect(table.filter((l) => l.startsWith('| delivery |')).length).toBe(6);
    expect(table.filter((l) => l.startsWith('| ack |')).length).toBe(4);
    // The ack's road is not listed again beside the recipient's.
    expect(table.filter((l) => l.startsWith('| beside |')).map((l) => l.split(' | ')[1])).toEqual(['ingress:sent → ingress:acked', 'router:sent → router:acked']);
    expect(table.join('\n')).toContain('the generator measured p50 18 ms, so 3 ms are outside');
  });
});
