import type { ProcessorBuilder } from '../../streams/index.js';

/**
 * An example of extending the pipeline with state, for data engineers: per conversation, the
 * number of messages and the latest one, as two tables any service may read (a conversation
 * list's counters and previews). `groupByKey` folds the stamped messages into each table's
 * compacted topic; the runtime keeps what each conversation applied, so a message redelivered,
 * replayed or stamped twice upstream (same seq) counts once. No store code, no dedup code.
 */
export function conversationCounter() {
  return (p: ProcessorBuilder): void => {
    const byConversation = p.stream('im.msg.stamped')
      .filter((r) => !r.value.contentType.startsWith('system/'), 'user-messages')
      .groupByKey({ sequence: (r) => r.value.seq });
    byConversation.count('im.example.conversation-counts');
    byConversation.reduce('im.example.latest-message', (_previous, latest) => latest);
  };
}
