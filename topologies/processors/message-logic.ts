import type { PlatformConfig } from '../../core/config.js';
import { counter } from '../../core/metrics.js';
import type { ErrorCode } from '../../protocol/codes.js';
import type { CheckedMessage, GroupState, MemberState, RelationState, SendCommand } from '../../schemas/types.generated.js';
import type { Emit, ProcessContext, ProcessorBuilder, Rec, TableView } from '../../streams/index.js';
import { MENTION_ALL, extractMentions, sensitiveFilter } from './content.js';
import { groupIdOf, memberKey, userPairKey } from '../../domain/conversations.js';
import { deadLetterReply, replyTo } from '../replies.js';
import type { Webhooks } from '../../connectors/webhooks/from-config.js';
import { askBeforeSend, refusalFrame } from './before-send.js';
import { forwardPending, sendKey } from '../../domain/message-references.js';
import { attachedRecords, checkMedia, type MediaCheckDeps } from './media-check.js';

/**
 * Message logic: a stream-table join of each send against the state the
 * relationship and group processors own, then content processing. Refusals go back to the
 * sending connection as an `error` frame carrying the client's msg_id.
 *
 * Notes to self (recipient = sender) are allowed and need no friendship: the conversation
 * `d:<me>:<me>` syncs across a user's devices and also receives their system notices.
 * Time checks (mutes) use the gateway's receive time, so a redelivered send is judged the same.
 */
export type MessageLogicConfig = Pick<PlatformConfig['pipeline'], 'requireFriendship' | 'sensitiveWords' | 'sensitiveMode'>;
/**
 * `beforeSend`: the before-send webhook, made on this processor's clock (connectors/webhooks);
 * `media`: the object store a media send's items are checked against (media-check.ts).
 */
export type MessageLogicDeps = { beforeSend?: Webhooks['beforeSend']; media?: MediaCheckDeps };

const decisions = counter('im_message_logic_total', 'Sends by outcome (ok or the refusal code)', ['kind', 'outcome']);

/** A send with the verdict of its join. */
interface Judged {
  cmd: SendCommand;
  refusal: ErrorCode | null;
  mentions: string[];
  /** The before-send webhook's own refusal (before-send.ts). */
  webhookRefusal?: { code: string; message: string };
  /** What exactly was wrong, for the error frame's message (the media check says which item and why). */
  detail?: string;
  /** A change by a group's owner or admin. */
  privileged?: boolean;
}

export function messageLogicProcessor(deps: MessageLogicDeps, config: MessageLogicConfig): (p: ProcessorBuilder) => void {
  const filter = sensitiveFilter(config.sensitiveWords);

  return (p) => {
    const relations = p.table('im.state.relations');
    const groups = p.table('im.state.groups');
    const members = p.table('im.state.members');
    // Every media id attached so far, by any conversation: an id is attached to one message only.
    const attachedMedia = p.table('im.state.media');
    const beforeSend = deps.beforeSend?.(() => p.clock.now()) ?? null;
    p.answerDeadLetters('im.cmd.send', ['im.push.online'], (r, code) => deadLetterReply(r.value.origin, r.value.sender, r.value.clientMsgId, r.value.correlationId, code, p.clock.now()));
    const [direct, group] = p.stream('im.cmd.send').branch((r) => r.value.recipientKind === 'USER', (r) => r.value.recipientKind === 'GROUP');

    // A refusal is judged again once the tables have caught up with everything written so far:
    // a friendship or membership made a moment ago must not be refused for a stale table.
    // Refusals are rare and rate limited by the router, so the catch-up costs little.
    direct!
      .join(relations, (r) => userPairKey(r.value.sender, r.value.recipientId), (r, rel, ctx) => judged(r, judgeDirect(r.value, rel, ctx.table(members))), 'join-relations')
      .process(['im.msg.checked', 'im.push.online', 'im.state.media'], async (r, ctx) => {
        const ask = async (j: Judged) => askBeforeSend(beforeSend, await withMedia(j, ctx), (cmd) => judgeDirect(cmd, ctx.table(relations).get(userPairKey(cmd.sender, cmd.recipientId)), ctx.table(members)));
        if (!r.value.refusal) return finish(await ask(r.value), p.clock.now());
        await Promise.all([ctx.catchUp(relations), ctx.catchUp(members)]);
        const cmd = r.value.cmd;
        return finish(await ask({ cmd, ...judgeDirect(cmd, ctx.table(relations).get(userPairKey(cmd.sender, cmd.recipientId)), ctx.table(members)) }), p.clock.now());
      }, 'content');

    group!
      .join(groups, (r) => r.value.recipientId, (r, g, ctx) => judged(r, judgeGroup(r.value, g, ctx.table(members))), 'join-groups')
      .process(['im.msg.checked', 'im.push.online', 'im.state.media'], async (r, ctx) => {
        const ask = async (j: Judged) => askBeforeSend(beforeSend, await withMedia(j, ctx), (cmd) => judgeGroup(cmd, ctx.table(groups).get(cmd.recipientId), ctx.table(members)));
        if (!r.value.refusal) return finish(await ask(r.value), p.clock.now());
        await Promise.all([ctx.catchUp(groups), ctx.catchUp(members)]);
        const cmd = r.value.cmd;
        return finish(await ask({ cmd, ...judgeGroup(cmd, ctx.table(groups).get(cmd.recipientId), ctx.table(members)) }), p.clock.now());
      }, 'content');

    /**
     * A permitted send's media, checked against the store (media-check.ts) after the platform's
     * own rules and before the webhook: a refused send costs no store call, and the webhook is
     * asked only about what could be stamped. The table of attached ids is caught up first, so
     * an id attached by a send a moment ago is known.
     */
    async function withMedia(j: Judged, ctx: ProcessContext): Promise<Judged> {
      if (j.refusal || !j.cmd.media || j.cmd.media.length === 0) return j;
      if (!deps.media) return { ...j, refusal: 'SERVICE_UNAVAILABLE', detail: 'media is not configured on this platform' };
      await ctx.catchUp(attachedMedia);
      const verdict = await checkMedia(deps.media, j.cmd, ctx.table(attachedMedia));
      return verdict.refusal ? { ...j, refusal: verdict.refusal, detail: verdict.detail } : j;
    }
  };

  function judgeDirect(cmd: SendCommand, rel: RelationState | undefined, memberTable: TableView<MemberState>): Omit<Judged, 'cmd'> {
    const peer = cmd.recipientId;
    if (!canSeeOriginal(cmd, memberTable)) return { refusal: 'FORWARD_NOT_VISIBLE', mentions: [] };
    if (peer === cmd.sender) return { refusal: null, mentions: [] };
    // A change to a message already there needs no friendship; a block still stops edits and
    // reactions, never a recall (taking one's words back is always allowed).
    if (cmd.action) return { refusal: cmd.action.kind !== 'RECALL' && rel && (rel.blockedByA || rel.blockedByB) ? 'BLOCKED' : null, mentions: [] };
    if (rel && (rel.blockedByA || rel.blockedByB)) return { refusal: 'BLOCKED', mentions: [] };
    if (config.requireFriendship && rel?.status !== 'FRIENDS') return { refusal: 'NOT_FRIENDS', mentions: [] };
    return { refusal: null, mentions: extractMentions(cmd.content, (id) => id === peer) };
  }

  function judgeGroup(cmd: SendCommand, g: GroupState | undefined, memberTable: TableView<MemberState>): Omit<Judged, 'cmd'> {
    const refuse = (refusal: ErrorCode) => ({ refusal, mentions: [] });
    if (!g) return refuse('GROUP_NOT_FOUND');
    if (g.status === 'DISBANDED') return refuse('GROUP_DISBANDED');
    const me = memberTable.get(memberKey(g.groupId, cmd.sender));
    if (!me) return refuse('NOT_A_MEMBER');
    if (!canSeeOriginal(cmd, memberTable)) return refuse('FORWARD_NOT_VISIBLE');
    // Owners and admins may recall anyone's message (the stamper judges the rest); a muted
    // member may still recall, not edit or react.
    if (cmd.action) {
      const muted = me.mutedUntil > cmd.receivedAt || (g.muteAll && me.role === 'MEMBER');
      return { refusal: muted && cmd.action.kind !== 'RECALL' ? 'MUTED' : null, mentions: [], privileged: me.role !== 'MEMBER' };
    }
    if (me.mutedUntil > cmd.receivedAt) return refuse('MUTED');
    if (g.muteAll && me.role === 'MEMBER') return refuse('MUTED');
    const privileged = me.role !== 'MEMBER';
    // @all only from admins and the owner; other mentions only of members.
    const mentions = extractMentions(cmd.content, (id) => (id === MENTION_ALL ? privileged : memberTable.get(memberKey(g.groupId, id)) !== undefined));
    return { refusal: null, mentions };
  }

  /**
   * A forward's original must be one its forwarder can see: a member of the original's group (a
   * direct original's pair the router checked from its id). Checked before the forward leaves for
   * the original's stamper.
   */
  function canSeeOriginal(cmd: SendCommand, memberTable: TableView<MemberState>): boolean {
    if (!forwardPending(cmd)) return true;
    const source = cmd.forwardOf!.conversationId;
    return !source.startsWith('g:') || memberTable.get(memberKey(groupIdOf(source), cmd.sender)) !== undefined;
  }

  /** The checked message, or the refusal stamped `now` back to the sender. */
  function finish(j: Judged, now: number): Emit[] {
    const { cmd } = j;
    const kind = cmd.recipientKind === 'USER' ? 'direct' : 'group';
    let refusal = j.refusal;
    // The content filter sees new text: a send's, or an edit's (a reaction's emoji is checked by
    // the router). A forward's text was the original's, filtered then, and must stay as it was.
    const text = (!cmd.action || cmd.action.kind === 'EDIT') && !forwardPending(cmd);
    if (!refusal && text && config.sensitiveMode === 'reject' && filter.matches(cmd.content)) refusal = 'CONTENT_REJECTED';
    if (refusal) {
      decisions.inc({ kind, outcome: refusal });
      return [replyTo(cmd.origin, cmd.sender, refusalFrame(j, refusal, now), cmd.correlationId, now)];
    }
    decisions.inc({ kind, outcome: 'ok' });
    const action = cmd.action ? { action: { ...cmd.action, privileged: j.privileged === true } } : {};
    const checked: CheckedMessage = { ...cmd, content: text ? filter.mask(cmd.content) : cmd.content, mentions: j.mentions, ...action };
    return [...attachedRecords(cmd, now), { topic: 'im.msg.checked', key: sendKey(cmd), value: checked }];
  }
}

function judged(r: Rec<SendCommand>, verdict: Omit<Judged, 'cmd'>): Rec<Judged> {
  return { ...r, value: { cmd: r.value, ...verdict } };
}
