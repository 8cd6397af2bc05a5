import type { ErrorCode } from '../../protocol/codes.js';
import { CLIENT_FRAME_TYPES, type ClientFrame } from '../../protocol/frames.js';
import { isIntField, isLongField } from '../../protocol/numbers.js';

export type Parsed = { ok: true; frame: ClientFrame; text: string } | { ok: false; code: ErrorCode; msgId?: string; detail?: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });
type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string' && v.length > 0;
const optStr: Check = (v) => v === undefined || typeof v === 'string';
// Integers the pipeline stores as Avro long/int (schemas/avro): one it cannot encode would be
// dead-lettered downstream and the client never answered, so it is refused here.
const long: Check = (v) => isLongField(v);
const optLong: Check = (v) => v === undefined || isLongField(v);
const optLimit: Check = (v) => v === undefined || isIntField(v, 1);
const bool: Check = (v) => typeof v === 'boolean';
const kind: Check = (v) => v === undefined || v === 'user' || v === 'group';

/** Required shape of each client frame type (frames.ts); extra fields pass through untouched. */
const shapes: Record<ClientFrame['type'], Record<string, Check>> = {
  send_msg: { msg_id: str, recipient: str, recipient_type: kind, content: (v) => typeof v === 'string', content_type: optStr, timestamp: long },
  ack: { msg_id: str },
  heartbeat: {},
  sync: { conversation_id: optStr, after_seq: optLong, limit: optLimit },
  read: { conversation_id: str, seq: long },
  typing: { recipient: str, recipient_type: kind, active: bool },
  token_refresh: { token: str },
};

/**
 * Decodes and validates one client frame: strict UTF-8, a JSON object, a known `type`, and the
 * fields of that type. Only the gateway's cheap structural checks; meaning is the pipeline's.
 */
export function parseClientFrame(bytes: ArrayBuffer): Parsed {
  let value: unknown;
  let text: string;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'INVALID_JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, code: 'MALFORMED_FRAME', detail: 'a frame is a JSON object' };
  const obj = value as Record<string, unknown>;
  const msgId = typeof obj.msg_id === 'string' ? obj.msg_id : undefined;
  if (typeof obj.type !== 'string') return { ok: false, code: 'MALFORMED_FRAME', msgId, detail: 'type is missing' };
  if (!(CLIENT_FRAME_TYPES as readonly string[]).includes(obj.type)) return { ok: false, code: 'UNKNOWN_FRAME_TYPE', msgId, detail: `unknown type ${obj.type.slice(0, 40)}` };
  const shape = shapes[obj.type as ClientFrame['type']];
  for (const [field, check] of Object.entries(shape)) {
    if (!check(obj[field])) return { ok: false, code: 'MALFORMED_FRAME', msgId, detail: `${obj.type}.${field} is missing, has the wrong type or is out of range` };
  }
  return { ok: true, frame: obj as unknown as ClientFrame, text };
}
