import type { ErrorCode } from '../../protocol/codes.js';
import type { GroupAdmission, GroupReport, GroupState, MemberState, MessageIndexState } from '../../schemas/types.generated.js';
import type { NoticeBody, NoticeTarget } from '../../domain/notices.js';

/**
 * What the group rules (group-rules.ts, with admissions and reports in their own files) see
 * and decide: the group as the processor holds it, and the writes and notices of a command or
 * its refusal.
 */
export interface GroupView {
  group: GroupState | undefined;
  member(userId: string): MemberState | undefined;
  memberCount: number;
  /** An invite, join request or link by its `admissionKey`. */
  admission(key: string): GroupAdmission | undefined;
  /** The owner and admins: who hears of a join request. */
  admins: string[];
  /** The processor's clock, what an invite link's expiry is judged by. */
  now: number;
  /** A REPORT's message (its `seq` in the group's conversation), as the stamper recorded it. */
  reported?: MessageIndexState;
}

export interface GroupRulesConfig {
  membersCanInvite: boolean;
  maxGroupMembers: number;
}

export type GroupNotice = { target: NoticeTarget; event: string; body: NoticeBody };
export type GroupDecision =
  | { kind: 'apply'; group: GroupState; members: [string, MemberState | null][]; admissions: [string, GroupAdmission | null][]; reports?: [string, GroupReport][]; notices: GroupNotice[] }
  | { kind: 'reject'; code: ErrorCode; message: string };

