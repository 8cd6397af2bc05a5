import { randomUUID } from 'node:crypto';
import type { TopicSerde } from '../../schemas/serde.js';
import type { MemberState } from '../../schemas/types.generated.js';
import { type LogClient, TableMaterializer } from '../../streams/index.js';

/**
 * Which groups a user belongs to, for queries (conversation list, membership checks outside
 * the topology). The membership table answers "members of G"; this answers the reverse.
 */
export interface GroupDirectory {
  isMember(groupId: string, userId: string): Promise<boolean>;
  groupsOf(userId: string): Promise<string[]>;
}

/** user -> groups, the reverse of the membership table's `group|user` keys. */
class UserGroups implements GroupDirectory {
  private readonly byUser = new Map<string, Set<string>>();

  add(groupId: string, userId: string): void {
    let set = this.byUser.get(userId);
    if (!set) this.byUser.set(userId, (set = new Set()));
    set.add(groupId);
  }

  remove(groupId: string, userId: string): void {
    this.byUser.get(userId)?.delete(groupId);
  }

  async isMember(groupId: string, userId: string): Promise<boolean> {
    return this.byUser.get(userId)?.has(groupId) ?? false;
  }

  async groupsOf(userId: string): Promise<string[]> {
    return [...(this.byUser.get(userId) ?? [])].sort();
  }
}

/** A fixed directory (tests, single-process demos). */
export function createMemoryGroupDirectory(memberships: Iterable<[groupId: string, userId: string]> = []): GroupDirectory & { add(g: string, u: string): void } {
  const directory = new UserGroups();
  for (const [g, u] of memberships) directory.add(g, u);
  return directory;
}

/**
 * The directory kept from the compacted `im.state.members` topic by a table reader: restored
 * from its beginning at start, then followed, tombstones removing memberships.
 */
export async function startLogGroupDirectory(deps: { log: LogClient; serde: TopicSerde; appId: string }): Promise<GroupDirectory & { stop(): Promise<void> }> {
  const directory = new UserGroups();
  const table = new TableMaterializer<MemberState>('im.state.members', { ...deps, instanceId: `group-directory-${randomUUID()}` }, false, (key, value) => {
    const bar = key.indexOf('|');
    if (value) directory.add(value.groupId, value.userId);
    else directory.remove(key.slice(0, bar), key.slice(bar + 1));
  });
  await table.start();
  return Object.assign(directory, { stop: () => table.stop() });
}
