import { counter } from '../../core/metrics.js';
import { KeyedRateLimiter, type TokenBucketConfig } from '../../core/token-bucket.js';
import type { Presence } from '../../edge/presence/presence.js';
import type { TypingOutFrame } from '../../protocol/frames.js';
import type { ProcessorBuilder } from '../../streams/index.js';
import { GatewayDeliveries, type FanoutConfig, lookupPresence } from '../fanout.js';
import { conversationOf, participation, userPairKey } from '../../domain/conversations.js';

export interface TypingDeps {
  presence: Presence;
}

export interface TypingConfig extends FanoutConfig {
  /** Typing frames a user may send per second (per processor instance), with a burst. */
  perUser: TokenBucketConfig;
  /** Groups larger than this get no typing indicators. */
  maxGroupMembers: number;
}

const typingTotal = counter('im_typing_total', 'Typing commands, by outcome', ['outcome'] as const);

/**
 * Typing indicators: ephemeral (never stored, no offline push), rate limited per user, and
 * delivered only to the other participants' live connections. Dropped silently when the
 * sender is not a participant, is over the limit, or one side blocked the other.
 */
export function typingProcessor(deps: TypingDeps, config: TypingConfig) {
  return (p: ProcessorBuilder): void => {
    const members = p.table('im.state.members');
    const relations = p.table('im.state.relations');
    const limiter = new KeyedRateLimiter(config.perUser, () => p.clock.now());
    p.stream('im.cmd.typing').process(['im.push.online'], async (r, ctx) => {
      const t = r.value;
      const drop = (outcome: string) => (typingTotal.inc({ outcome }), []);
      const party = participation(ctx.table(members), t.conversationId, t.userId);
      if (party === null || party.othersCount === 0) return drop('not_participant');
      if (party.othersCount >= config.maxGroupMembers) return drop('group_too_large');
      const others = party.others();
      const ref = conversationOf(t.conversationId, t.userId);
      if (ref?.kind === 'direct') {
        const rel = ctx.table(relations).get(userPairKey(t.userId, ref.peer));
        if (rel && (rel.blockedByA || rel.blockedByB)) return drop('blocked');
      }
      if (!limiter.tryTake(t.userId)) return drop('rate_limited');

      const online = await lookupPresence(deps.presence, others, config);
      const frame: TypingOutFrame = { type: 'typing', conversation_id: t.conversationId, user: t.userId, active: t.active, timestamp: t.at };
      const text = JSON.stringify(frame);
      const deliveries = new GatewayDeliveries();
      for (const entries of online.values()) deliveries.addUser(entries, text, null);
      typingTotal.inc({ outcome: 'delivered' });
      return deliveries.toEmits(t.correlationId, config, p.clock.now(), t.conversationId);
    }, 'typing');
  };
}
