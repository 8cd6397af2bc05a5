import { conversationTo, directConversationId } from '../../domain/conversations.js';
import type { ClientFrame } from '../../protocol/frames.js';

/**
 * The Kafka key of a client frame on `im.ingress`: its conversation where it has one, so that
 * routing, the permission join and stamping of a conversation run in one task of the pipeline
 * without another hop (see `streams/plan.ts`); the user otherwise. A frame whose
 * fields are not what they should be still gets a key; the router refuses it.
 */
export function ingressKey(userId: string, frame: ClientFrame): string {
  const f = frame as { type: string; recipient?: unknown; recipient_type?: unknown; conversation_id?: unknown };
  if ((f.type === 'send_msg' || f.type === 'typing') && typeof f.recipient === 'string' && f.recipient.length > 0)
    return conversationTo(userId, f.recipient, f.recipient_type === 'group' ? 'group' : 'user');
  if ((f.type === 'read' || f.type === 'recall_msg' || f.type === 'edit_msg' || f.type === 'react' || f.type === 'conversation_settings') && typeof f.conversation_id === 'string' && f.conversation_id.length > 0) return f.conversation_id;
  // delete_for_me is stamped in the user's own conversation.
  if (f.type === 'delete_for_me') return directConversationId(userId, userId);
  return userId;
}
