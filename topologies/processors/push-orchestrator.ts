import { groupConversationId, groupIdOf, memberKey } from '../../domain/conversations.js';
import type { Presence } from '../../edge/presence/presence.js';
import { counter } from '../../core/metrics.js';
import type { OfflinePushTask, StampedMessage } from '../../schemas/types.generated.js';
import type { Emit, ProcessContext, ProcessorBuilder } from '../../streams/index.js';
import { GatewayDeliveries, type FanoutConfig, lookupPresence } from '../fanout.js';
import { messageFrame } from '../../protocol/server-frames.js';
import { MENTION_ALL } from './content.js';

export interface PushOrchestratorDeps {
  presence: Presence;
}

export interface PushOrchestratorConfig extends FanoutConfig {
  /** Characters of content in an offline notification's preview. */
  previewChars: number;
}

const outcomes = counter('im_push_orchestrated_total', 'Recipients resolved by push orchestration, by outcome', ['outcome'] as const);
const rebuilds = counter('im_push_memberships_rebuilt_total', 'Group memberships rebuilt in the routing store from the membership table (first start, or a store that lost them)', [] as const);

const MEMBERSHIP_NOTICES = new Set(['system/group_created', 'system/members_added', 'system/members_removed', 'system/member_left', 'system/group_disbanded']);

/** Who a membership notice moves; its body is the notice's JSON content. */
export function membershipChange(m: Pick<StampedMessage, 'contentType' | 'content'>): { joined: string[]; left: string[]; closed: boolean } {
  const none = { joined: [], left: [], closed: false };
  if (!MEMBERSHIP_NOTICES.has(m.contentType)) return none;
  let body: { members?: unknown; user?: unknown };
  try {
    body = JSON.parse(m.content) as typeof body;
  } catch {
    return none;
  }
  const list = Array.isArray(body.members) ? body.members.filter((u): u is string => typeof u === 'string') : [];
  switch (m.contentType) {
    case 'system/group_created':
    case 'system/members_added':
      return { ...none, joined: list };
    case 'system/members_removed':
      return { ...none, left: list };
    case 'system/member_left':
      return { ...none, left: typeof body.user === 'string' ? [body.user] : [] };
    default:
      return { ...none, closed: true };
  }
}

/**
 * Push orchestration: for each stamped message, the online pushes and an
 * offline push task per recipient with no connection. (The sender's ack left with the stamped
 * record: see the stamper.)
 *
 * Direct: the peer and the sender's other devices, per user and connection from presence (two
 * users: one lookup, no subscriptions to keep for every pair that ever talked).
 *
 * Group: one PUBLISH per gateway holding a member (the frame once; the gateway writes it to the
 * members' connections subscribed to the conversation's topic there), and offline tasks for
 * the members without a connection: nothing is built per online member. Membership notices
 * also move subscriptions, in message order: joins subscribe before the notice is published,
 * leaves and kicks unsubscribe before it, a disband closes the topic after it.
 */
export function pushOrchestrator(deps: PushOrchestratorDeps, config: PushOrchestratorConfig) {
  return (p: ProcessorBuilder): void => {
    const members = p.table('im.state.members');
    const { presence } = deps;

    /**
     * The routing store's memberships from the whole table (they were never written, or the
     * store lost them), once however many partitions find them missing. Caught up before and
     * after: a removal processed by another instance meanwhile is taken back (GroupRouting.rebuild).
     */
    let rebuilding: Promise<void> | null = null;
    const rebuild = (ctx: ProcessContext): Promise<void> => (rebuilding ??= rebuildOnce(ctx).finally(() => (rebuilding = null)));
    const rebuildOnce = async (ctx: ProcessContext): Promise<void> => {
      await ctx.catchUp(members);
      const table = ctx.table(members);
      function* pairs(): Generator<readonly [string, string]> {
        for (const [, member] of table.entries()) yield [member.userId, groupConversationId(member.groupId)];
      }
      await presence.rebuild(pairs(), async () => {
        await ctx.catchUp(members);
        return (userId, conversationId) => table.get(memberKey(groupIdOf(conversationId), userId)) !== undefined;
      });
      rebuilds.inc();
      ctx.logger.warn('group memberships rebuilt in the routing store from the membership table', { memberships: table.size });
    };

    const group = async (m: StampedMessage, ctx: ProcessContext, frame: string, now: number): Promise<Emit[]> => {
      const groupId = m.recipientId;
      const conversationId = m.conversationId;
      const pushes = new GatewayDeliveries();
      const op = (kind: 'SUBSCRIBE' | 'UNSUBSCRIBE', userId: string) => ({ kind, conversationId, userId, messageId: null, exceptConnectionId: null, frame: null });
      // Subscriptions first: a joiner gets the notice of their join, a leaver not that of their leave.
      const change = membershipChange(m);
      if (change.joined.length > 0) for (const [gw, users] of await presence.join(conversationId, change.joined)) for (const u of users) pushes.addOp(gw, op('SUBSCRIBE', u));
      if (change.left.length > 0) for (const [gw, users] of await presence.leave(conversationId, change.left)) for (const u of users) pushes.addOp(gw, op('UNSUBSCRIBE', u));

      let route = await presence.route(conversationId);
      if (route === null) {
        await rebuild(ctx);
        route = await presence.route(conversationId);
        if (route === null) throw new Error('group memberships still missing in the routing store after a rebuild');
      }
      const exceptConnectionId = actingConnection(m);
      for (const gw of route.gateways) {
        pushes.addOp(gw, { kind: 'PUBLISH', conversationId, userId: null, messageId: ackedId(m), exceptConnectionId, frame });
        if (change.closed) pushes.addOp(gw, { kind: 'CLOSE', conversationId, userId: null, messageId: null, exceptConnectionId: null, frame: null });
      }
      // A sender who is no member (they just left) still gets the message on their other devices.
      const senderIsMember = ctx.table(members).get(memberKey(groupId, m.sender)) !== undefined;
      if (!senderIsMember) {
        const entries = (await lookupPresence(presence, [m.sender], config)).get(m.sender);
        if (entries) pushes.addUser(entries, frame, ackedId(m), exceptConnectionId);
      }
      if (change.closed) await presence.forget(conversationId);

      const offline: Emit<'im.push.offline'>[] = [];
      for (const userId of route.offline) if (userId !== m.sender && !m.action) offline.push({ topic: 'im.push.offline', key: userId, value: offlineTask(m, userId, config.previewChars, now) });
      outcomes.inc({ outcome: 'offline' }, offline.length);
      outcomes.inc({ outcome: 'online' }, Math.max(0, route.members - (senderIsMember ? 1 : 0) - offline.length));
      return [...pushes.toEmits(m.correlationId, config, now, m.conversationId), ...offline];
    };

    p.stream('im.msg.stamped').process(['im.push.online', 'im.push.offline'], async (r, ctx) => {
      const m = r.value;
      const now = p.clock.now();
      const frame = JSON.stringify(messageFrame(m));
      if (m.recipientKind === 'GROUP') {
        // The groups processor writes memberships before their notice: catching up here makes
        // every later message of the group reach the members the notice announces. A sender
        // message logic accepted but this table does not know yet shows it is behind, too.
        const behind = m.origin !== null && ctx.table(members).get(memberKey(m.recipientId, m.sender)) === undefined;
        if (behind || MEMBERSHIP_NOTICES.has(m.contentType)) await ctx.catchUp(members);
        return group(m, ctx, frame, now);
      }

      const others = m.recipientId === m.sender ? [] : [m.recipientId];
      const online = await lookupPresence(presence, [m.sender, ...others], config);
      const deliveries = new GatewayDeliveries();
      const senderEntries = online.get(m.sender);
      if (senderEntries) deliveries.addUser(senderEntries, frame, ackedId(m), actingConnection(m));
      const offline: Emit<'im.push.offline'>[] = [];
      for (const userId of others) {
        const entries = online.get(userId);
        if (entries) deliveries.addUser(entries, frame, ackedId(m));
        // A change to a message (recall, edit, reaction) reaches an offline device by sync, not as a notification.
        else if (!m.action) offline.push({ topic: 'im.push.offline', key: userId, value: offlineTask(m, userId, config.previewChars, now) });
      }
      outcomes.inc({ outcome: 'online' }, online.size - (senderEntries ? 1 : 0));
      outcomes.inc({ outcome: 'offline' }, offline.length);
      return [...deliveries.toEmits(m.correlationId, config, now, m.conversationId), ...offline];
    }, 'orchestrate');
  };
}

/**
 * The id a recipient must ack a message by; none for a change to a message (recall, edit,
 * reaction): an unacked one would become a notification, and sync brings it anyway.
 */
const ackedId = (m: StampedMessage): string | null => (m.action ? null : m.messageId);

/**
 * The connection a message came from gets its ack instead of the message; a change event goes
 * there too, as the resulting state (a reaction's counts) is only in the event.
 */
const actingConnection = (m: StampedMessage): string | null => (m.action ? null : m.origin?.connectionId ?? null);

function offlineTask(m: StampedMessage, userId: string, previewChars: number, now: number): OfflinePushTask {
  // A media message's notification names its kind before the caption (`[image] look!`).
  const text = m.media && m.media.length > 0 ? `[${m.contentType}]${m.content ? ` ${m.content}` : ''}` : m.content;
  const preview = text.length > previewChars ? `${text.slice(0, previewChars)}…` : text;
  // Told to push-offline, which holds back what a user muted except what mentions them.
  const mentioned = m.mentions.includes(userId) || (m.recipientKind === 'GROUP' && m.mentions.includes(MENTION_ALL));
  return { correlationId: m.correlationId, userId, messageId: m.messageId, conversationId: m.conversationId, seq: m.seq, sender: m.sender, preview, reason: 'OFFLINE', createdAt: now, mentioned };
}
