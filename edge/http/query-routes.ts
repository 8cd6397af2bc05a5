import { PlatformError } from '../../core/errors.js';
import type { QueryService, ReceiptList } from '../query/query-service.js';
import { HttpError, type HttpRequest, type HttpRoute } from './routes.js';

/**
 * The HTTP side of data query: the conversation list with unread counts, and history pages.
 * GET /v1/conversations?limit
 *   each with the user's own `settings` (muted, pinned, archived, marked_unread: docs/protocol.md#conversation-settings).
 * GET /v1/conversations/:id/messages?after_seq&before_seq&limit
 *   after_seq: the page after it (catching up); otherwise the latest page before before_seq
 *   (scrolling back). Answers `{ messages, has_more }`, messages ascending by sequence_number.
 * GET /v1/conversations/:id/messages/:seq/receipts?kind&limit&after
 *   "read by" and "delivered to" one message: counts and a page of users (docs/protocol.md#receipts).
 */
export function queryRoutes(service: QueryService): HttpRoute[] {
  return [
    {
      method: 'GET',
      path: '/v1/conversations',
      auth: true,
      handler: async (req) => {
        const list = await guard(() => service.conversations(userOf(req), optionalInt(req, 'limit')));
        return {
          status: 200,
          body: {
            conversations: list.map((c) => ({
              conversation_id: c.conversationId,
              kind: c.kind,
              with: c.with,
              max_seq: c.maxSeq,
              read_seq: c.readSeq,
              ...(c.peerReadSeq !== undefined ? { peer_read_seq: c.peerReadSeq, peer_delivered_seq: c.peerDeliveredSeq } : {}),
              unread_count: c.unread,
              last_message: c.lastMessage,
              updated_at: c.updatedAt,
              settings: c.settings,
            })),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/conversations/:id/messages',
      auth: true,
      handler: async (req) => {
        const id = req.params.id;
        if (!id) throw new HttpError(400, 'BAD_REQUEST', 'conversation id missing');
        const page = await guard(() =>
          service.history(userOf(req), id, { afterSeq: optionalInt(req, 'after_seq'), beforeSeq: optionalInt(req, 'before_seq'), limit: optionalInt(req, 'limit') }),
        );
        return { status: 200, body: { conversation_id: id, messages: page.messages, has_more: page.hasMore } };
      },
    },
    {
      method: 'GET',
      path: '/v1/conversations/:id/messages/:seq/receipts',
      auth: true,
      handler: async (req) => {
        const id = req.params.id;
        const seq = Number(req.params.seq);
        if (!id) throw new HttpError(400, 'BAD_REQUEST', 'conversation id missing');
        if (!Number.isSafeInteger(seq) || seq < 1) throw new HttpError(400, 'BAD_REQUEST', 'seq must be a positive integer');
        const kind = req.query.kind;
        if (kind !== undefined && kind !== 'read' && kind !== 'delivered') throw new HttpError(400, 'BAD_REQUEST', 'kind must be read or delivered');
        const after = req.query.after || undefined;
        const r = await guard(() => service.receipts(userOf(req), id, seq, { kind, limit: optionalInt(req, 'limit'), after }));
        const list = (l: ReceiptList | undefined) => (l ? { count: l.count, users: l.users, next_after: l.nextAfter } : undefined);
        return { status: 200, body: { conversation_id: id, seq, sender: r.sender, read: list(r.read), delivered: list(r.delivered) } };
      },
    },
  ];
}

function userOf(req: HttpRequest): string {
  if (!req.userId) throw new HttpError(401, 'UNAUTHORIZED', 'missing credentials');
  return req.userId;
}

function optionalInt(req: HttpRequest, name: string): number | undefined {
  const raw = req.query[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new HttpError(400, 'BAD_REQUEST', `${name} must be a non-negative integer`);
  return n;
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PlatformError && (err.code === 'FORBIDDEN' || err.code === 'NOT_A_MEMBER')) throw new HttpError(403, err.code, err.message);
    if (err instanceof PlatformError && err.code === 'MESSAGE_NOT_FOUND') throw new HttpError(404, err.code, err.message);
    throw err;
  }
}
