import type { Presence } from '../../edge/presence/presence.js';
import type { Origin, TopicValues } from '../../schemas/types.generated.js';

/**
 * Test support for the processors' tests (not a test itself). They run each processor on
 * `TopologyTestDriver` (streams/testing.ts); these read its records the way the tests ask.
 */
export const origin = (connectionId = 'conn-1', gatewayId = 'gw-1'): Origin => ({ gatewayId, connectionId, deviceId: `dev-${connectionId}` });

/** A notice of a command, as the groups and relations processors write it to `im.msg.checked`. */
export type NoticeRecord = { value: { contentType: string; content: string; conversationId: string; correlationId: string; clientMsgId: string } };

/** Each notice as `<conversation> <event>`, a refusal as `<conversation> rejected <code>`, in command order. */
export function noticeEvents(records: NoticeRecord[]): string[] {
  return byCommand(records).map((r) => {
    const body = JSON.parse(r.value.content) as { error_code?: string };
    return r.value.contentType === 'system/command_rejected' ? `${r.value.conversationId} rejected ${body.error_code}` : `${r.value.conversationId} ${r.value.contentType.slice(7)}`;
  });
}

/** Records in the order their commands were produced (correlation ids `<letter><n>`), then by notice. */
export function byCommand<R extends { value: { correlationId: string; clientMsgId: string } }>(records: R[]): R[] {
  const rank = (r: R) => [Number(r.value.correlationId.replace(/^\D+/, '')), Number(r.value.clientMsgId.split(':').at(-1))] as const;
  return [...records].sort((a, b) => rank(a)[0] - rank(b)[0] || rank(a)[1] - rank(b)[1]);
}

/** The frames of `im.push.online` records, parsed, with the user and connection they go to. */
export function frames(records: { value: TopicValues['im.push.online'] }[]): { userId: string; connectionId: string | null; frame: Record<string, unknown> }[] {
  return records.flatMap((r) => r.value.deliveries.map((d) => ({ userId: d.userId, connectionId: d.connectionId, frame: JSON.parse(d.frame) as Record<string, unknown> })));
}

/** A connection of `userId` on `gatewayId`, in presence as the gateway puts it when a socket opens. */
export async function online(presence: Presence, userId: string, connectionId: string, gatewayId: string): Promise<void> {
  await presence.connect({ userId, connectionId, gatewayId, deviceId: connectionId, connectedAt: 1 });
}
