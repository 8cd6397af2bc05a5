import type { BeforeSendHook } from '../../connectors/webhooks/before-send.js';
import type { ErrorCode } from '../../protocol/codes.js';
import type { ErrorFrame } from '../../protocol/frames.js';
import { errorFrame } from '../../protocol/server-frames.js';
import type { SendCommand } from '../../schemas/types.generated.js';

/**
 * Message logic's step for the before-send webhook (connectors/webhooks/before-send.ts): asked
 * only about a send the platform's own rules let through, right before the content filter and
 * the stamper, so a refusal never costs a seq and a rewrite is what gets stamped. A rewrite is
 * judged again (mentions come from the new text); the filter then sees it like any content.
 * Changes to earlier messages (recall, edit, reactions) are not sends and are not asked.
 */
export interface Judgement {
  cmd: SendCommand;
  refusal: ErrorCode | null;
  mentions: string[];
  /** The endpoint's own code and message, when it refused. */
  webhookRefusal?: { code: string; message: string };
  /** The platform's own detail of a refusal, as the error frame's message. */
  detail?: string;
}

export async function askBeforeSend<J extends Judgement>(hook: BeforeSendHook | null, j: J, rejudge: (cmd: SendCommand) => Omit<J, 'cmd'>): Promise<J> {
  if (!hook || j.refusal || isChange(j.cmd) || !hook.covers(j.cmd.recipientKind)) return j;
  const verdict = await hook.judge(j.cmd);
  switch (verdict.action) {
    case 'allow':
      return j;
    case 'refuse':
      return { ...j, refusal: 'WEBHOOK_REFUSED', webhookRefusal: { code: verdict.code, message: verdict.message } };
    case 'unavailable':
      return { ...j, refusal: 'SERVICE_UNAVAILABLE' };
    case 'rewrite': {
      const cmd: SendCommand = { ...j.cmd, content: verdict.content };
      return { ...j, ...rejudge(cmd), cmd };
    }
  }
}

/**
 * The sender's answer to a refusal: WEBHOOK_REFUSED is the platform's code, so an endpoint's
 * codes never collide with the platform's; the endpoint's own is `error_detail`, its message
 * `error_message`.
 */
export function refusalFrame(j: Judgement, code: ErrorCode, now: number): ErrorFrame {
  if (code === 'WEBHOOK_REFUSED' && j.webhookRefusal) return { ...errorFrame(code, now, j.cmd.clientMsgId, j.webhookRefusal.message), error_detail: j.webhookRefusal.code };
  return errorFrame(code, now, j.cmd.clientMsgId, j.detail);
}

/** A record that changes an earlier message rather than sending one (domain/message-changes.ts). */
function isChange(cmd: SendCommand): boolean {
  return 'action' in cmd && cmd.action !== null && cmd.action !== undefined;
}
