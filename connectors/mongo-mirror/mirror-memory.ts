import { memberKey } from '../../domain/conversations.js';
import type { GroupState, MediaState, MemberState, RelationState } from '../../schemas/types.generated.js';
import type { MirrorStore, MirrorWrite } from './mirror-store.js';

/** The mirror in process memory: for `make run` and tests; lost on restart (it is rebuilt from the topics). */
export function createMemoryMirror(): MirrorStore {
  const relations = new Map<string, RelationState>();
  const groups = new Map<string, GroupState>();
  const members = new Map<string, MemberState>();
  const media = new Map<string, MediaState>();
  const put = <V>(m: Map<string, V>, key: string, v: V | null): void => void (v === null ? m.delete(key) : m.set(key, structuredClone(v)));
  return {
    async apply(writes: MirrorWrite[]) {
      for (const w of writes) {
        if (w.topic === 'im.state.relations') put(relations, w.key, w.value);
        else if (w.topic === 'im.state.groups') put(groups, w.key, w.value);
        else if (w.topic === 'im.state.members') put(members, w.key, w.value);
        else put(media, w.key, w.value);
      }
    },
    async relationsOf(userId) {
      return [...relations.values()].filter((r) => r.userA === userId || r.userB === userId);
    },
    async groupsOf(userId) {
      return [...members.values()]
        .filter((m) => m.userId === userId && groups.has(m.groupId))
        .map((member) => ({ group: groups.get(member.groupId)!, member }));
    },
    async group(groupId) {
      return groups.get(groupId) ?? null;
    },
    async members(groupId) {
      return [...members.values()].filter((m) => m.groupId === groupId);
    },
    async member(groupId, userId) {
      return members.get(memberKey(groupId, userId)) ?? null;
    },
    async media(mediaId) {
      return media.get(mediaId) ?? null;
    },
    async close() {},
  };
}
