import { counter } from '../../core/metrics.js';
import type { ProcessorBuilder } from '../../streams/index.js';
import { userPairKey } from '../../domain/conversations.js';
import { notices, rejection } from '../../domain/notices.js';
import { decideRelation, replayedNotices } from './relation-rules.js';

/**
 * Relationships: the sole writer of `im.state.relations`, the compacted
 * topic message logic joins against for "may A and B talk". Commands come from the HTTP API
 * keyed by the user pair, so both users' commands on one pair are decided in order.
 * Outcomes reach users as system messages (see domain/notices.ts); refusals go to the actor's inbox.
 */
export type RelationsDeps = Record<string, never>;
export type RelationsConfig = Record<string, never>;

const outcomes = counter('im_relation_commands_total', 'Relationship commands by action and outcome', ['action', 'outcome']);

export function relationsProcessor(_deps: RelationsDeps = {}, _config: RelationsConfig = {}): (p: ProcessorBuilder) => void {
  return (p) => {
    const relations = p.store('im.state.relations');
    p.stream('im.cmd.relation').process(['im.msg.checked'], async (r, ctx) => {
      const cmd = r.value;
      const key = userPairKey(cmd.actor, cmd.target);
      const store = ctx.store(relations);
      const current = store.get(key);
      const log = ctx.logger.child({ correlationId: cmd.correlationId, action: cmd.action });
      const replay = replayedNotices(current, cmd);
      if (replay?.kind === 'apply') {
        outcomes.inc({ action: cmd.action, outcome: 'replayed' });
        return notices(cmd, replay.notices);
      }
      const d = decideRelation(current, cmd);
      outcomes.inc({ action: cmd.action, outcome: d.kind });
      switch (d.kind) {
        case 'noop':
          log.debug('relationship already as asked');
          return [];
        case 'reject':
          log.info('relationship command refused', { code: d.code, actor: cmd.actor, target: cmd.target });
          return [rejection(cmd, cmd.action, d.code, d.message)];
        case 'apply':
          store.put(key, d.next);
          return notices(cmd, d.notices);
      }
    }, 'decide-relation');
  };
}
