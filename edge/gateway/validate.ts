import type { ErrorCode } from '../protocol/codes.js';
import { CLIENT_FRAME_TYPES, type ClientFrame } from '../protocol/frames.js';

export type Parsed = { ok: true; frame: ClientFrame; text: string } | { ok: false; code: ErrorCode; msgId?: string; detail?: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });
type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string' && v.length > 0;
const optStr: Check = (v) => v === undefined || typeof v === 'string';
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const optNum: Check = (v) => v === undefined || num(v);
const bool: Check = (v) => typeof v === 'boolean';
const kind: Check = (v) => v === undefined || v === 'user' || v === 'group';

/** Required shape of each client frame type (frames.ts); extra fields pass through untouched. */
const shapes: Record<ClientFrame['type'], Record<string, Check>> = {
  send_msg: { msg_id: str, recipient: str, recipient_type: kind, content: (v) => typeof v === 'string', content_type: optStr, timestamp: num },
  ack: { msg_id: str },
  heartbeat: {},
  sync: { conversation_id: optStr, after_seq: optNum, limit: optNum },
  read: { conversation_id: str, seq: num },
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
    if (!check(obj[field])) return { ok: false, code: 'MALFORMED_FRAME', msgId, detail: `${obj.type}.${field} is missing or has the wrong type` };
  }
  return { ok: true, frame: obj as unknown as ClientFrame, text };
}
