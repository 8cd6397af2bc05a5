import type { ErrorCode } from '../../protocol/codes.js';
import { MAX_REPORT_REASON_CHARS } from '../../protocol/limits.js';
import type { GroupCommand, GroupState } from '../../schemas/types.generated.js';
import type { NoticeTarget } from '../../domain/notices.js';
import type { GroupDecision, GroupNotice, GroupView } from './group-decision.js';

/** Key of a report in `im.state.reports`: `<groupId>|<reportId>`, a group's reports one prefix. */
export const reportKey = (groupId: string, reportId: string): string => `${groupId}|${reportId}`;

/**
 * A member reports a message of the group (by seq; its sender is the target) or a member, with a
 * reason of bounded length. Only members report: they are the participants who saw it. The
 * report is kept in `im.state.reports` for moderation; the reporter is answered with its id and
 * the owner and admins are told privately, never the group.
 */
export function decideReport(view: GroupView, g: GroupState, cmd: GroupCommand): GroupDecision {
  const reject = (code: ErrorCode, message: string): GroupDecision => ({ kind: 'reject', code, message });
  const me = view.member(cmd.actor);
  if (!me) return reject('NOT_A_MEMBER', 'only members can report in a group');
  const reason = (cmd.text ?? '').trim();
  if (!reason || reason.length > MAX_REPORT_REASON_CHARS) return reject('BAD_REQUEST', `a reason is 1 to ${MAX_REPORT_REASON_CHARS} characters`);
  const bySeq = cmd.seq !== null && cmd.seq !== undefined;
  if (bySeq === (cmd.targets.length > 0) || cmd.targets.length > 1) return reject('BAD_REQUEST', 'report one message (seq) or one user');
  let target: string;
  if (bySeq) {
    const m = view.reported;
    if (!m || m.seq !== cmd.seq || m.contentType.startsWith('system/')) return reject('MESSAGE_NOT_FOUND', 'no such message in this group');
    target = m.sender;
  } else {
    target = cmd.targets[0]!;
    if (!view.member(target)) return reject('NOT_A_MEMBER', `${target} is not a member`);
  }
  if (target === cmd.actor) return reject('BAD_REQUEST', 'you cannot report yourself');
  const report = { groupId: g.groupId, reportId: cmd.correlationId, reporter: cmd.actor, target, seq: bySeq ? cmd.seq! : null, messageId: bySeq ? view.reported!.messageId : null, reason, at: cmd.at };
  const inbox = (userId: string): NoticeTarget => ({ kind: 'inbox', userId });
  const details = { group_id: g.groupId, name: g.name, report_id: report.reportId, reporter: cmd.actor, target, seq: report.seq, reason };
  return {
    kind: 'apply', group: { ...g, updatedAt: cmd.at }, members: [], admissions: [], reports: [[reportKey(g.groupId, report.reportId), report]],
    notices: [
      { target: inbox(cmd.actor), event: 'report_filed', body: { group_id: g.groupId, report_id: report.reportId } },
      ...view.admins.filter((a) => a !== cmd.actor).map((a): GroupNotice => ({ target: inbox(a), event: 'report_received', body: details })),
    ],
  };
}
