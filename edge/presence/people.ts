import { randomUUID } from 'node:crypto';
import type { PlatformConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import { counter } from '../../core/metrics.js';
import type { MirrorStore } from '../../connectors/mongo-mirror/mirror-store.js';
import type { PresenceOutFrame } from '../../protocol/frames.js';
import type { Delivery, RelationState } from '../../schemas/types.generated.js';
import type { PresenceVisibility, UserStore } from '../auth/user-store.js';
import type { PushBus } from '../delivery/push-bus.js';
import type { Presence } from './presence.js';
import type { StatusStore } from './status.js';

/** What a viewer sees of a user: `hidden` when the user's setting does not show it to them. */
export interface PresenceView {
  user_id: string;
  state: PresenceOutFrame['state'];
  /** Epoch ms, set when offline (null when never seen, or hidden). */
  last_seen: number | null;
}

/** The gateway's side: what happened to a connection. Fire and forget; failures are logged. */
export interface PeopleHooks {
  opened(userId: string, connectionId: string): void;
  /**
   * A connection ended: its last seen is stamped first, then `leave` removes it from presence,
   * so whoever finds the user offline finds this last seen too. Resolves when both are done
   * (it never rejects: failures are logged).
   */
  closed(userId: string, connectionId: string, leave: () => Promise<void>): Promise<void>;
  away(userId: string, connectionId: string, away: boolean): void;
  /** Every heartbeat: the users with a connection on this gateway. */
  alive(userIds: readonly string[]): void;
}

export interface PeoplePresence extends PeopleHooks {
  /** Something about the user's presence (or its visibility) changed: friends hear within the window. */
  changed(userId: string): void;
  /** What `viewer` may see of each of `userIds` (unknown users are left out). */
  view(viewer: string, userIds: readonly string[]): Promise<PresenceView[]>;
  /** Stops the pending windows (their changes are told by the next change, or read by a query). */
  close(): void;
}

export interface PeopleDeps {
  presence: Pick<Presence, 'lookup'>;
  status: StatusStore;
  pushBus: Pick<PushBus, 'publish'>;
  /** Friends and blocks, per user (the query mirror of `im.state.relations`). */
  relations: Pick<MirrorStore, 'relationsOf'>;
  /** Visibility settings, and the durable copy of last seen (Redis may restart empty). */
  users: Pick<UserStore, 'findByIds' | 'recordLastSeen'>;
  logger: Logger;
  now?: () => number;
}

export type PeopleConfig = Pick<PlatformConfig['people'], 'presenceWindowMs'>;

const events = counter('im_presence_events_total', 'Presence changes of people: told to friends, unchanged (not told), deferred to the window', ['outcome']);

type State = Exclude<PresenceView['state'], 'hidden'>;

/** May `viewer` see the presence of a user with this setting, given the relationship between them? */
export function maySee(visibility: PresenceVisibility, relation: RelationState | undefined): boolean {
  if (relation && (relation.blockedByA || relation.blockedByB)) return false;
  if (visibility === 'everyone') return true;
  return visibility === 'friends' && relation?.status === 'FRIENDS';
}

/**
 * Presence for people: friends see online / away / last seen, as each user's setting allows.
 *
 * The state is read, never kept here: online when a connection lives (presence, over every
 * gateway) that is not away, away when every one is, otherwise offline with the last seen.
 * A change on any gateway starts the user's window; at its end, whoever holds the user's event
 * slot (StatusStore.claim: one per window over all gateways) reads the state as it is then and
 * tells the online friends only if it differs from what they were told last. A user who
 * reconnects ten times in a window costs their friends nothing, or one event. The edge does
 * this, not the pipeline: presence is the latest value only, nothing a conversation shows, and
 * the friend lists per user are in the query mirror the edge already reads.
 */
export function createPeoplePresence(deps: PeopleDeps, config: PeopleConfig): PeoplePresence {
  const { presence, status, logger } = deps;
  const now = deps.now ?? Date.now;
  const windowMs = config.presenceWindowMs;
  const pending = new Map<string, NodeJS.Timeout>();
  let closed = false;
  const fail = (what: string, userId: string) => (err: unknown) => logger.warn(what, { err, userId });

  async function statesOf(userIds: readonly string[]): Promise<Map<string, { state: State; lastSeen: number | null }>> {
    const [live, away, seen] = await Promise.all([presence.lookup(userIds), status.awayOf(userIds), status.lastSeen(userIds)]);
    return new Map(userIds.map((u) => {
      const conns = live.get(u) ?? [];
      const awaySet = away.get(u);
      const state: State = conns.length === 0 ? 'offline' : conns.every((c) => awaySet?.has(c.connectionId)) ? 'away' : 'online';
      return [u, { state, lastSeen: seen.get(u) ?? null }];
    }));
  }

  const friendsOf = (relations: RelationState[], userId: string): string[] =>
    relations.filter((r) => r.status === 'FRIENDS' && !r.blockedByA && !r.blockedByB).map((r) => (r.userA === userId ? r.userB : r.userA));

  /** The end of a user's window: tell friends the state now, once over all gateways. */
  async function settle(userId: string): Promise<void> {
    const wait = await status.claim(userId, windowMs);
    if (wait > 0) {
      events.inc({ outcome: 'deferred' });
      return schedule(userId, wait);
    }
    const [[user], current, relations] = await Promise.all([deps.users.findByIds([userId]), statesOf([userId]), deps.relations.relationsOf(userId)]);
    if (!user) return;
    const { state, lastSeen } = current.get(userId)!;
    const shown = user.presenceVisibility === 'nobody' ? 'hidden' : state;
    if (state === 'offline' && lastSeen !== null) await deps.users.recordLastSeen(userId, lastSeen);
    if ((await status.swapTold(userId, shown)) === shown) {
      events.inc({ outcome: 'unchanged' });
      return;
    }
    events.inc({ outcome: 'told' });
    const frame: PresenceOutFrame = { type: 'presence', user: userId, state: shown, last_seen: shown === 'offline' ? lastSeen : null, timestamp: now() };
    const text = JSON.stringify(frame);
    const friends = friendsOf(relations, userId);
    // One push per gateway holding a friend: the friend's every connection there gets the frame.
    const byGateway = new Map<string, Delivery[]>();
    for (const [friend, entries] of await presence.lookup(friends)) {
      for (const gw of new Set(entries.map((e) => e.gatewayId))) {
        const list = byGateway.get(gw) ?? [];
        list.push({ userId: friend, connectionId: null, messageId: null, frame: text });
        byGateway.set(gw, list);
      }
    }
    const correlationId = randomUUID();
    await Promise.all([...byGateway].map(([gatewayId, deliveries]) => deps.pushBus.publish({ gatewayId, correlationId, createdAt: frame.timestamp, deliveries, conversationOps: [] })));
  }

  function schedule(userId: string, delayMs: number): void {
    if (closed || pending.has(userId)) return;
    const timer = setTimeout(() => {
      pending.delete(userId);
      settle(userId).catch(fail('presence event failed', userId));
    }, delayMs);
    timer.unref();
    pending.set(userId, timer);
  }

  const changed = (userId: string): void => schedule(userId, windowMs);

  return {
    changed,
    opened: (userId) => changed(userId),
    closed(userId, connectionId, leave) {
      return status
        .closed(userId, connectionId, now())
        .catch(fail('presence last seen failed', userId))
        .then(leave)
        .then(() => changed(userId), fail('presence close failed', userId));
    },
    away(userId, connectionId, away) {
      status.setAway(userId, connectionId, away).then(() => changed(userId), fail('presence away failed', userId));
    },
    alive(userIds) {
      status.seen(userIds, now()).catch(fail('presence last seen failed', userIds[0] ?? ''));
    },

    async view(viewer, userIds) {
      const ids = [...new Set(userIds)];
      const [users, relations, states] = await Promise.all([deps.users.findByIds(ids), deps.relations.relationsOf(viewer), statesOf(ids)]);
      const withViewer = new Map(relations.map((r) => [r.userA === viewer ? r.userB : r.userA, r]));
      return users.map((u) => {
        if (u.userId !== viewer && !maySee(u.presenceVisibility, withViewer.get(u.userId))) return { user_id: u.userId, state: 'hidden', last_seen: null };
        const { state, lastSeen } = states.get(u.userId)!;
        // Redis may have lost last seen (a restart): the user store's copy stands in.
        const seen = Math.max(lastSeen ?? 0, u.lastSeen ?? 0);
        return { user_id: u.userId, state, last_seen: state === 'offline' && seen > 0 ? seen : null };
      });
    },

    close() {
      closed = true;
      for (const t of pending.values()) clearTimeout(t);
      pending.clear();
    },
  };
}
