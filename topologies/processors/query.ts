import { PlatformError } from '../../core/errors.js';
import type { GroupDirectory } from '../../connectors/message-store/group-directory.js';
import { receiptPosition, type MessageStore } from '../../connectors/message-store/message-store.js';
import type { RecentCache } from '../../connectors/message-store/recent-cache.js';
import type { ErrorCode } from '../../protocol/codes.js';
import type { SyncResultFrame } from '../../protocol/frames.js';
import type { Emit, ProcessorBuilder } from '../../streams/index.js';
import { memberKey, readPositionKey } from '../../domain/conversations.js';
import { QueryService, type QueryConfig } from '../../edge/query/query-service.js';
import { errorFrame } from '../../protocol/server-frames.js';
import { deadLetterReply, replyTo } from '../replies.js';

export interface QueryDeps {
  store: MessageStore;
  recent: RecentCache;
  /** Only `groupsOf` is used here (the conversation list); membership checks use the table. */
  groups: Pick<GroupDirectory, 'groupsOf'>;
}

/**
 * The WebSocket side of data query: answers each `sync` with `sync_result` frames to the
 * asking connection. With a conversation: one page after `after_seq` (`has_more` tells the
 * client to ask again from the last seq). Without: one page per conversation with unread
 * messages (after the user's read seq), then a closing `sync_result` with a null
 * conversation_id and no messages, so the client knows the sweep is complete.
 */
export function queryProcessor(deps: QueryDeps, config: QueryConfig) {
  return (p: ProcessorBuilder): void => {
    const members = p.table('im.state.members');
    const reads = p.table('im.state.reads');
    p.answerDeadLetters('im.cmd.sync', ['im.push.online'], (r, code) => deadLetterReply(r.value.origin, r.value.userId, r.value.clientMsgId, r.value.correlationId, code, p.clock.now()));
    p.stream('im.cmd.sync').process(['im.push.online'], async (r, ctx) => {
      const s = r.value;
      const service = new QueryService(
        {
          store: deps.store,
          recent: deps.recent,
          groups: { isMember: async (g, u) => ctx.table(members).get(memberKey(g, u)) !== undefined, groupsOf: (u) => deps.groups.groupsOf(u) },
          reads: {
            readSeqs: async (u, ids) => new Map(ids.flatMap((id) => { const rs = ctx.table(reads).get(readPositionKey(id, u)); return rs ? [[id, rs.readSeq] as const] : []; })),
            positions: async (of) => new Map(of.flatMap(({ conversationId, userId }) => {
              const key = readPositionKey(conversationId, userId);
              const rs = ctx.table(reads).get(key);
              return rs ? [[key, receiptPosition(rs.readSeq, rs.deliveredSeq)] as const] : [];
            })),
            receiptsAt: (...args) => deps.store.receiptsAt(...args),
            conversationSettings: (...args) => deps.store.conversationSettings(...args),
          },
        },
        config,
      );
      const now = p.clock.now();
      const reply = (frame: SyncResultFrame): Emit => replyTo(s.origin, s.userId, frame, s.correlationId, now);
      const result = (conversationId: string | null, messages: SyncResultFrame['messages'], hasMore: boolean): SyncResultFrame =>
        ({ type: 'sync_result', conversation_id: conversationId, messages, has_more: hasMore, timestamp: now });
      try {
        if (s.conversationId !== null) {
          const page = await service.history(s.userId, s.conversationId, { afterSeq: Math.max(0, s.afterSeq), limit: s.limit });
          return [reply(result(s.conversationId, page.messages, page.hasMore))];
        }
        const out: Emit[] = [];
        for (const c of await service.conversations(s.userId)) {
          if (c.unread <= 0) continue;
          const page = await service.history(s.userId, c.conversationId, { afterSeq: c.readSeq, limit: s.limit });
          out.push(reply(result(c.conversationId, page.messages, page.hasMore)));
        }
        out.push(reply(result(null, [], false)));
        return out;
      } catch (err) {
        if (err instanceof PlatformError && (err.code === 'FORBIDDEN' || err.code === 'NOT_A_MEMBER')) {
          return [replyTo(s.origin, s.userId, errorFrame(err.code as ErrorCode, now, s.clientMsgId ?? undefined, err.message), s.correlationId, now)];
        }
        throw err;
      }
    }, 'sync');
  };
}
