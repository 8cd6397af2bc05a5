import type { Logger } from '../core/logger.js';
import { gauge } from '../core/metrics.js';
import type { Clock } from './clock.js';
import type { LogClient } from './log.js';
import type { Topology } from './topology.js';

/**
 * Whether each consumer group of the application still makes progress, seen from outside it:
 * `im_consumer_lag` is written by a consumer after its batches, so a consumer that is stuck
 * (stopped, deadlocked, an endless batch) stops writing it and its last value looks healthy.
 * A watcher in another process reads the group's committed offsets and the topics' end offsets
 * from the broker instead; a group whose committed lag stays above 0 while its commits do not
 * move is stalled, for as long as they have not moved.
 *
 * A group counts only once this watcher has seen its commits move: a group left behind by an
 * older plan (other processors fused, never read again) has lag and no progress for ever, and
 * must not page. A group stuck since before the watcher started is missed until it moves.
 */
export interface GroupProgress {
  group: string;
  /** Records behind the end offsets of the group's topics, from its committed offsets. */
  lag: number;
  /** Seconds since its commits last moved while it had lag; 0 when caught up or not yet seen moving. */
  stalledSeconds: number;
}

const metrics = {
  lag: gauge('im_consumer_group_lag', "Records behind the end of the group's topics by its committed offsets, read from the broker", ['group']),
  stalled: gauge('im_consumer_group_stalled_seconds', 'Seconds since the group last committed while behind (0 when caught up), read from the broker by another process', ['group']),
};

type GroupLog = Pick<LogClient, 'listGroups' | 'committedOffsets' | 'endOffsets'>;

interface Seen {
  committed: bigint;
  movedAt: number;
  /** The commits moved at least once under this watcher. */
  moving: boolean;
}

/** The pure part: one reading of a group's offsets in, its progress out. */
export class ProgressTracker {
  private readonly seen = new Map<string, Seen>();

  observe(group: string, committed: bigint, lag: number, now: number): GroupProgress {
    const prior = this.seen.get(group);
    if (!prior) {
      this.seen.set(group, { committed, movedAt: now, moving: false });
      return { group, lag, stalledSeconds: 0 };
    }
    if (committed !== prior.committed || lag === 0) {
      prior.moving ||= committed !== prior.committed;
      prior.committed = committed;
      prior.movedAt = now;
    }
    return { group, lag, stalledSeconds: prior.moving && lag > 0 ? (now - prior.movedAt) / 1000 : 0 };
  }

  forget(groups: ReadonlySet<string>): void {
    for (const g of this.seen.keys()) if (!groups.has(g)) this.seen.delete(g);
  }
}

/**
 * The topics a group reads: a runtime group is named `<appId>.<processor>+<processor>...`
 * (streams/plan.ts), and each processor declares its sources. Groups of other names, or naming
 * a processor this topology does not have, are not the runtime's: null.
 */
export function groupTopics(group: string, appId: string, topology: Pick<Topology, 'processors'>): string[] | null {
  if (!group.startsWith(`${appId}.`)) return null;
  const topics = new Set<string>();
  for (const name of group.slice(appId.length + 1).split('+')) {
    const def = topology.processors.get(name);
    if (!def) return null;
    for (const t of def.sources.keys()) topics.add(t);
  }
  return topics.size > 0 ? [...topics] : null;
}

export interface GroupProgressWatch {
  /** Reads every group once and updates the gauges. */
  poll(): Promise<GroupProgress[]>;
  start(intervalMs: number): void;
  stop(): void;
}

export function createGroupProgressWatch(deps: {
  log: GroupLog;
  appId: string;
  topology: Pick<Topology, 'processors'>;
  clock: Clock;
  logger: Logger;
  /** A stall this long is logged (once, and once when it ends); the alert has its own threshold. */
  logStallAfterMs: number;
}): GroupProgressWatch {
  const tracker = new ProgressTracker();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<GroupProgress[]> | null = null;
  let failing = false;
  const stalledGroups = new Set<string>();

  const readGroup = async (group: string, topics: string[]): Promise<{ committed: bigint; lag: number }> => {
    let committed = 0n;
    let lag = 0;
    for (const topic of topics) {
      const [ends, offsets] = await Promise.all([deps.log.endOffsets(topic), deps.log.committedOffsets(group, topic)]);
      for (const [partition, end] of ends) {
        const at = BigInt(offsets.get(partition) ?? '0');
        committed += at;
        lag += Math.max(0, Number(BigInt(end) - at));
      }
    }
    return { committed, lag };
  };

  const pollOnce = async (): Promise<GroupProgress[]> => {
    const groups = new Map<string, string[]>();
    for (const g of await deps.log.listGroups()) {
      const topics = groupTopics(g, deps.appId, deps.topology);
      if (topics) groups.set(g, topics);
    }
    tracker.forget(new Set(groups.keys()));
    const out: GroupProgress[] = [];
    for (const [group, topics] of groups) {
      const { committed, lag } = await readGroup(group, topics);
      const p = tracker.observe(group, committed, lag, deps.clock.now());
      metrics.lag.set({ group }, p.lag);
      metrics.stalled.set({ group }, p.stalledSeconds);
      logChange(p);
      out.push(p);
    }
    return out;
  };

  // Logged on a change only: a stall found, a stall over.
  const logChange = (p: GroupProgress): void => {
    const stalled = p.stalledSeconds * 1000 >= deps.logStallAfterMs;
    if (stalled && !stalledGroups.has(p.group)) deps.logger.warn('consumer group not committing while behind', { group: p.group, lag: p.lag, stalledSeconds: p.stalledSeconds });
    else if (p.stalledSeconds === 0 && stalledGroups.delete(p.group)) deps.logger.warn('consumer group committing again', { group: p.group, lag: p.lag });
    if (stalled) stalledGroups.add(p.group);
  };

  const poll = (): Promise<GroupProgress[]> => {
    running ??= pollOnce().finally(() => (running = null));
    return running;
  };

  const tick = async (): Promise<void> => {
    try {
      await poll();
      if (failing) deps.logger.warn('group progress readable again');
      failing = false;
    } catch (err) {
      if (!failing) deps.logger.warn('group progress not readable', { error: err instanceof Error ? err.message : String(err) });
      failing = true;
    }
  };

  return {
    poll,
    start(intervalMs) {
      timer ??= setInterval(() => void tick(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
