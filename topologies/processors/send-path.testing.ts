import { expect } from 'vitest';
import type { ChangeLimits } from '../../domain/message-changes.js';
import { ingressKey } from '../../edge/gateway/ingress-key.js';
import type { ClientFrame } from '../../protocol/frames.js';
import type { IngressFrame, StampedMessage } from '../../schemas/types.generated.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver, type TestDriverOptions } from '../../streams/testing.js';
import { messageLogicProcessor, type MessageLogicDeps } from './message-logic.js';
import { routerProcessor } from './router.js';
import { stamperProcessor } from './stamper.js';
import { frames, origin } from './testing.js';

/**
 * Test support (not a test): the send path (router → message logic → stamper) on the test
 * driver, with amy and bo friends, cy blocking amy, and the group `team` (own the owner, adm an
 * admin, amy and bo members, mu muted). Frames go in as a gateway sends them; each answer
 * (ack or error) comes back by its msg_id.
 */
const routerConfig = { maxContentChars: 100, routerRatePerSec: 1_000, routerBurst: 1_000, routerStaleMs: 60_000, breakerFailureThreshold: 3, breakerOpenMs: 500 };

/** What else a test of the send path needs: message logic's deps (its media check), runtime retries, processors after the stamper, the driver's start time. */
export interface SendPathOptions {
  logic?: MessageLogicDeps;
  maxRetries?: number;
  /** Declares more processors on the topology (e.g. those reading im.msg.stamped). */
  more?: (topology: Topology) => Topology;
  startTime?: number;
}

export async function startSendPath(limits?: Partial<ChangeLimits>, stateLimits?: TestDriverOptions['stateLimits'], o: SendPathOptions = {}) {
  const sendPath = new Topology('changes-test')
    .processor('router', routerProcessor({}, routerConfig))
    .processor('message-logic', messageLogicProcessor(o.logic ?? {}, { requireFriendship: true, sensitiveWords: ['darn'], sensitiveMode: 'reject' }))
    .processor('stamper', stamperProcessor({}, limits));
  const topology = o.more ? o.more(sendPath) : sendPath;
  const driver = await TopologyTestDriver.start(topology, { stateLimits, maxRetries: o.maxRetries, startTime: o.startTime });
  await driver.pipe('im.state.relations', [
    { key: 'amy|bo', value: { userA: 'amy', userB: 'bo', status: 'FRIENDS', blockedByA: false, blockedByB: false, updatedAt: 1 } },
    { key: 'amy|cy', value: { userA: 'amy', userB: 'cy', status: 'FRIENDS', blockedByA: false, blockedByB: true, updatedAt: 1 } },
  ]);
  await driver.pipe('im.state.groups', [{ key: 'team', value: { groupId: 'team', name: 'team', ownerId: 'own', status: 'ACTIVE', muteAll: false, announcement: null, createdAt: 1, updatedAt: 1 } }]);
  const member = (userId: string, role: 'OWNER' | 'ADMIN' | 'MEMBER', mutedUntil = 0) => ({ key: `team|${userId}`, value: { groupId: 'team', userId, role, mutedUntil, joinedAt: 1 } });
  await driver.pipe('im.state.members', [member('own', 'OWNER'), member('adm', 'ADMIN'), member('amy', 'MEMBER'), member('bo', 'MEMBER'), member('mu', 'MEMBER', Number.MAX_SAFE_INTEGER - 1)]);

  let n = 0;
  /** Sends frames of one user, each received now, and returns the answers (ack or error) by msg_id (a new one unless the payload has one). */
  const frame = async (userId: string, payload: Record<string, unknown>) => {
    const msgId = typeof payload.msg_id === 'string' ? payload.msg_id : `${userId}-${++n}`;
    n += 1;
    const value: IngressFrame = { correlationId: `c${n}`, userId, origin: origin(`conn-${userId}`), receivedAt: driver.clock.now(), frameType: String(payload.type), payload: JSON.stringify({ msg_id: msgId, ...payload }) };
    const before = driver.read('im.push.online').length;
    await driver.pipe('im.ingress', [{ key: ingressKey(userId, { msg_id: msgId, ...payload } as unknown as ClientFrame), value }]);
    const answers = frames(driver.read('im.push.online').slice(before)).map((f) => f.frame).filter((f) => f.msg_id === msgId);
    expect(answers, `one answer to ${msgId}`).toHaveLength(1);
    return answers[0]! as { type: string; msg_id: string; error_code?: string; sequence_number?: number; server_msg_id?: string };
  };
  const send = async (userId: string, recipient: string, content: string, group = false) => {
    const a = await frame(userId, { type: 'send_msg', recipient, recipient_type: group ? 'group' : 'user', content, timestamp: 1 });
    expect(a.type).toBe('ack');
    return { seq: a.sequence_number!, id: a.server_msg_id! };
  };
  const code = async (userId: string, payload: Record<string, unknown>) => {
    const a = await frame(userId, payload);
    return a.type === 'ack' ? 'ack' : a.error_code;
  };
  const events = (): StampedMessage[] => driver.read('im.msg.stamped').map((r) => r.value).filter((m) => m.action);
  return { driver, frame, send, code, events };
}
