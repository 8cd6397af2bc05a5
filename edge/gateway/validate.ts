import type { ErrorCode } from '../../protocol/codes.js';
import { fieldProblem } from '../../protocol/frame-validation.js';
import { CLIENT_FRAME_TYPES, type ClientFrame } from '../../protocol/frames.js';

export type Parsed = { ok: true; frame: ClientFrame; text: string } | { ok: false; code: ErrorCode; msgId?: string; detail?: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes and validates one client frame: strict UTF-8, a JSON object, a known `type`, and the
 * fields of that type (`FRAME_FIELDS`, the protocol's one table of them). Only the cheap
 * structural checks: what the fields mean is checked where the frame is routed, by the same
 * module's validators.
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
  const problem = fieldProblem(obj.type as ClientFrame['type'], obj);
  if (problem) return { ok: false, code: 'MALFORMED_FRAME', msgId, detail: problem };
  return { ok: true, frame: obj as unknown as ClientFrame, text };
}
