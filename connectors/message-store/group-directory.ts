import { randomUUID } from 'node:crypto';
import type { TopicSerde } from '../../schemas/serde.js';
import type { MemberState } from '../../schemas/types.generated.js';
import type { LogClient, LogConsumer } from '../../topologies/runtime/log.js';

/**
 * Which groups a user belongs to, for queries (conversation list, membership checks outside
 * the topology). The membership table answers "members of G"; this answers the reverse.
 */
export interface GroupDirectory {
  isMember(groupId: string, userId: string): Promise<boolean>;
  groupsOf(userId: string): Promise<string[]>;
}

/** A fixed directory (tests, single-process demos). */
export function createMemoryGroupDirectory(memberships: Iterable<[groupId: string, userId: string]> = []): GroupDirectory & { add(g: string, u: string): void } {
  const byUser = new Map<string, Set<string>>();
  const add = (g: string, u: string) => {
    let set = byUser.get(u);
    if (!set) byUser.set(u, (set = new Set()));
    set.add(g);
  };
  for (const [g, u] of memberships) add(g, u);
  return {
    add,
    async isMember(g, u) {
      return byUser.get(u)?.has(g) ?? false;
    },
    async groupsOf(u) {
      return [...(byUser.get(u) ?? [])].sort();
    },
  };
}

/**
 * The directory kept from the compacted `im.state.members` topic: read from its beginning at
 * start (resolves once caught up), then followed, tombstones removing memberships. A reader
 * with a fresh, never-committed group on each start, like the runtime's tables.
 */
export async function startLogGroupDirectory(deps: { log: LogClient; serde: TopicSerde; appId: string }): Promise<GroupDirectory & { stop(): Promise<void> }> {
  const topic = 'im.state.members';
  const byUser = new Map<string, Set<string>>();
  const positions = new Map<number, bigint>();
  let wake: (() => void) | undefined;
  const consumer: LogConsumer = deps.log.consumer({
    groupId: `${deps.appId}.group-directory.${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    commit: false,
    partitionsConcurrency: 8,
    eachBatch: async (batch) => {
      for (const m of batch.messages) {
        if (m.key === null) continue;
        const bar = m.key.indexOf('|');
        const [g, u] = [m.key.slice(0, bar), m.key.slice(bar + 1)];
        if (m.value === null) {
          byUser.get(u)?.delete(g);
          continue;
        }
        const state: MemberState = await deps.serde.decode(topic, m.value);
        let set = byUser.get(state.userId);
        if (!set) byUser.set(state.userId, (set = new Set()));
        set.add(state.groupId);
      }
      const last = batch.messages[batch.messages.length - 1];
      if (last) positions.set(batch.partition, BigInt(last.offset) + 1n);
      wake?.();
    },
  });
  await consumer.start();
  const ends = await deps.log.endOffsets(topic);
  const caughtUp = () => [...ends].every(([p, end]) => BigInt(end) === 0n || (positions.get(p) ?? 0n) >= BigInt(end));
  while (!caughtUp()) await new Promise<void>((resolve) => (wake = resolve));
  wake = undefined;
  return {
    async isMember(g, u) {
      return byUser.get(u)?.has(g) ?? false;
    },
    async groupsOf(u) {
      return [...(byUser.get(u) ?? [])].sort();
    },
    stop: () => consumer.stop(),
  };
}
