import { describe, expect, it } from 'vitest';
import { recordingLogger, type LogLine } from '../core/testing.js';
import { registry } from '../core/metrics.js';
import { createGroupProgressWatch, groupTopics, ProgressTracker } from './group-progress.js';
import { Topology } from './topology.js';

/**
 * A stuck consumer is seen from outside it: its committed offsets stop moving while the topic
 * grows. The watcher reads a fake broker's offsets on a manual clock.
 */
const topology = new Topology('progress-test')
  .processor('router', (p) => void p.stream('im.cmd.send').process([], async () => []))
  .processor('stamper', (p) => void p.stream('im.msg.checked').process([], async () => []))
  .processor('persistence', (p) => void p.stream('im.msg.stamped').process([], async () => []));

describe('groupTopics', () => {
  it("reads a runtime group's processors out of its name and unions their sources", () => {
    expect(groupTopics('im.router+stamper', 'im', topology)?.sort()).toEqual(['im.cmd.send', 'im.msg.checked']);
    expect(groupTopics('im.persistence', 'im', topology)).toEqual(['im.msg.stamped']);
  });

  it("leaves out groups that are not this application's runtime's", () => {
    expect(groupTopics('other.persistence', 'im', topology)).toBeNull();
    expect(groupTopics('im.no-such-processor', 'im', topology)).toBeNull();
    expect(groupTopics('im.state-mirror', 'im', topology)).toBeNull();
  });
});

describe('ProgressTracker', () => {
  it('counts a stall from the last commit while behind, and ends it at the next commit', () => {
    const t = new ProgressTracker();
    expect(t.observe('g', 10n, 5, 0).stalledSeconds).toBe(0);
    expect(t.observe('g', 20n, 5, 1_000).stalledSeconds).toBe(0);
    expect(t.observe('g', 20n, 40, 4_000).stalledSeconds).toBe(3);
    expect(t.observe('g', 20n, 90, 31_000).stalledSeconds).toBe(30);
    expect(t.observe('g', 110n, 0, 32_000).stalledSeconds).toBe(0);
  });

  it('never counts a group whose commits it has not seen move (left behind by an older plan)', () => {
    const t = new ProgressTracker();
    t.observe('old', 7n, 100, 0);
    expect(t.observe('old', 7n, 500, 600_000).stalledSeconds).toBe(0);
  });

  it('is not stalled while caught up, however long nothing was committed', () => {
    const t = new ProgressTracker();
    t.observe('g', 1n, 0, 0);
    t.observe('g', 2n, 0, 1_000);
    expect(t.observe('g', 2n, 0, 120_000).stalledSeconds).toBe(0);
    expect(t.observe('g', 2n, 3, 121_000).stalledSeconds).toBe(1);
  });
});

describe('createGroupProgressWatch', () => {
  it("exports a stuck group's stall from the broker's offsets and logs it once", async () => {
    let now = 0;
    const ends = new Map<string, Map<number, string>>([['im.msg.stamped', new Map([[0, '10'], [1, '10']])]]);
    const committed = new Map<number, string>([[0, '10'], [1, '4']]);
    const lines: LogLine[] = [];
    const watch = createGroupProgressWatch({
      log: {
        listGroups: async () => ['im.persistence', 'someone-else'],
        endOffsets: async (topic) => ends.get(topic) ?? new Map(),
        committedOffsets: async (group) => (group === 'im.persistence' ? new Map(committed) : new Map()),
      },
      appId: 'im',
      topology,
      clock: { now: () => now },
      logger: recordingLogger(lines),
      logStallAfterMs: 20_000,
    });
    expect(await watch.poll()).toEqual([{ group: 'im.persistence', lag: 6, stalledSeconds: 0 }]);
    now = 1_000;
    committed.set(1, '8');
    expect((await watch.poll())[0]).toEqual({ group: 'im.persistence', lag: 2, stalledSeconds: 0 });
    // The consumer stops; records keep arriving.
    now = 26_000;
    ends.set('im.msg.stamped', new Map([[0, '60'], [1, '60']]));
    expect((await watch.poll())[0]).toEqual({ group: 'im.persistence', lag: 102, stalledSeconds: 25 });
    const text = await registry.metrics();
    expect(text).toMatch(/im_consumer_group_stalled_seconds\{group="im.persistence"\} 25/);
    expect(text).toMatch(/im_consumer_group_lag\{group="im.persistence"\} 102/);
    expect(text).not.toMatch(/group="someone-else"/);
    now = 28_000;
    expect((await watch.poll())[0]?.stalledSeconds).toBe(27);
    now = 29_000;
    committed.set(0, '60');
    committed.set(1, '60');
    expect((await watch.poll())[0]).toEqual({ group: 'im.persistence', lag: 0, stalledSeconds: 0 });
    expect(lines.map((l) => l.msg)).toEqual(['consumer group not committing while behind', 'consumer group committing again']);
  });
});
