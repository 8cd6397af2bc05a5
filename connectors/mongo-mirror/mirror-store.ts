import type { GroupState, MediaState, MemberState, RelationState } from '../../schemas/types.generated.js';

/**
 * The query-side copy of relationship, group and media state, for the HTTP read endpoints (and
 * media downloads, which are authorized from it). The
 * compacted topics stay the truth; this mirror is rebuilt from them at will. Writes are
 * idempotent (upsert by key, a tombstone deletes), so re-applying a batch after a crash is safe.
 * Memory (`mirror-memory.ts`, for `make run` and tests) and MongoDB (`mirror-mongo.ts`).
 */
export type MirrorWrite =
  | { topic: 'im.state.relations'; key: string; value: RelationState | null }
  | { topic: 'im.state.groups'; key: string; value: GroupState | null }
  | { topic: 'im.state.members'; key: string; value: MemberState | null }
  | { topic: 'im.state.media'; key: string; value: MediaState | null };

export const MIRRORED_TOPICS = ['im.state.relations', 'im.state.groups', 'im.state.members', 'im.state.media'] as const;

export interface GroupMembership {
  group: GroupState;
  member: MemberState;
}

export interface MirrorStore {
  /** Applies writes in order; the last write of a key wins. */
  apply(writes: MirrorWrite[]): Promise<void>;
  /** Every relationship record naming the user (friends, requests both ways, blocks). */
  relationsOf(userId: string): Promise<RelationState[]>;
  /** The groups the user is a member of, with the membership. */
  groupsOf(userId: string): Promise<GroupMembership[]>;
  group(groupId: string): Promise<GroupState | null>;
  members(groupId: string): Promise<MemberState[]>;
  member(groupId: string, userId: string): Promise<MemberState | null>;
  /** An uploaded object a message carries, by media id; null when none is (yet) attached. */
  media(mediaId: string): Promise<MediaState | null>;
  close(): Promise<void>;
}

/** The last write per topic and key, in first-seen order: what a batch amounts to. */
export function lastWrites(writes: MirrorWrite[]): MirrorWrite[] {
  const last = new Map<string, MirrorWrite>();
  for (const w of writes) {
    const id = `${w.topic}\u0000${w.key}`;
    last.delete(id);
    last.set(id, w);
  }
  return [...last.values()];
}
