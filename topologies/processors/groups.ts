import type { PlatformConfig } from '../../core/config.js';
import { counter } from '../../core/metrics.js';
import type { GroupAdmission, GroupReport, GroupState, MemberState, MessageIndexState } from '../../schemas/types.generated.js';
import type { ProcessorBuilder } from '../../streams/index.js';
import { groupConversationId, memberKey } from '../../domain/conversations.js';
import { indexKey } from '../../domain/message-changes.js';
import { notices, rejection } from '../../domain/notices.js';
import { decideGroup } from './group-rules.js';

/**
 * Groups: the sole writer of `im.state.groups` (settings),
 * `im.state.members` (key `groupId|userId`, tombstone = removed) and `im.state.admissions`
 * (invites, join requests, invite links: group-admission-rules.ts) and `im.state.reports`, the tables message logic
 * and push orchestration read for "is U a member / muted in G". Commands arrive from the HTTP
 * API keyed by group, so one group's commands are decided one at a time, in order.
 */
export type GroupsConfig = Pick<PlatformConfig['pipeline'], 'membersCanInvite' | 'maxGroupMembers'>;
export type GroupsDeps = Record<string, never>;

const outcomes = counter('im_group_commands_total', 'Group commands by action and outcome', ['action', 'outcome']);

/** Settings compared without the write marker: a command that changes nothing else is a no-op. */
const sameGroup = (a: GroupState, b: GroupState | undefined): boolean => !!b && JSON.stringify({ ...a, updatedAt: 0 }) === JSON.stringify({ ...b, updatedAt: 0 });
const same = <V>(a: V | null, b: V | undefined): boolean => (a === null ? b === undefined : JSON.stringify(a) === JSON.stringify(b));

export function groupsProcessor(_deps: GroupsDeps, config: GroupsConfig): (p: ProcessorBuilder) => void {
  return (p) => {
    const groups = p.store('im.state.groups');
    const members = p.store('im.state.members');
    const admissions = p.store('im.state.admissions');
    const reports = p.store('im.state.reports');
    // The stamper's record of each message: what a report of one is checked against.
    const messages = p.table('im.state.messages');
    p.stream('im.cmd.group').process(['im.msg.checked'], async (r, ctx) => {
      const cmd = r.value;
      const gs = ctx.store(groups);
      const ms = ctx.store(members);
      const ads = ctx.store(admissions);
      const log = ctx.logger.child({ correlationId: cmd.correlationId, action: cmd.action, groupId: cmd.groupId });
      const group = gs.get(cmd.groupId);
      let memberCount = 0;
      const admins: string[] = [];
      for (const [, m] of ms.withPrefix(cmd.groupId)) {
        memberCount++;
        if (m.role !== 'MEMBER') admins.push(m.userId);
      }
      let reported: MessageIndexState | undefined;
      if (cmd.action === 'REPORT' && cmd.seq !== null && cmd.seq !== undefined) {
        const key = indexKey(groupConversationId(cmd.groupId), cmd.seq);
        reported = ctx.table(messages).get(key);
        // Stamped just now, the table may not have it yet: a miss is asked again once caught up.
        if (!reported) {
          await ctx.catchUp(messages);
          reported = ctx.table(messages).get(key);
        }
      }
      const view = { group, member: (u: string) => ms.get(memberKey(cmd.groupId, u)), memberCount, admission: (k: string) => ads.get(k), admins, now: p.clock.now(), reported };
      const d = decideGroup(view, cmd, config);

      if (d.kind === 'reject') {
        outcomes.inc({ action: cmd.action, outcome: 'reject' });
        log.info('group command refused', { code: d.code, actor: cmd.actor });
        return [rejection(cmd, cmd.action, d.code, d.message)];
      }
      const memberWrites = d.members.filter(([k, v]) => !same<MemberState>(v, ms.get(k)));
      const admissionWrites = d.admissions.filter(([k, v]) => !same<GroupAdmission>(v, ads.get(k)));
      const reportWrites = (d.reports ?? []).filter(([k, v]) => !same<GroupReport>(v, ctx.store(reports).get(k)));
      if (memberWrites.length === 0 && admissionWrites.length === 0 && reportWrites.length === 0 && sameGroup(d.group, group)) {
        // Nothing to change: either the group is already as asked, or this command was
        // applied before a crash cut off its notices (its `at` is the group's write marker).
        const replay = group?.updatedAt === cmd.at;
        outcomes.inc({ action: cmd.action, outcome: replay ? 'replayed' : 'noop' });
        return replay ? notices(cmd, d.notices) : [];
      }
      gs.put(cmd.groupId, d.group);
      for (const [k, v] of memberWrites) ms.put(k, v);
      for (const [k, v] of admissionWrites) ads.put(k, v);
      for (const [k, v] of reportWrites) ctx.store(reports).put(k, v);
      outcomes.inc({ action: cmd.action, outcome: 'apply' });
      return notices(cmd, d.notices);
    }, 'decide-group');
  };
}
