import { describe, expect, it } from 'vitest';
import type { StampedMessage } from '../schemas/types.generated.js';
import { messageFrame, NOTICE_MEMBERS_LISTED } from './server-frames.js';

const stamped = (contentType: string, content: string): StampedMessage => ({
  correlationId: 'c1',
  messageId: '01JD3Z8Q6V2N0S4X9T7K5M3P1A',
  seq: 1,
  sender: 'owner',
  origin: null,
  clientMsgId: 'sys:c1',
  conversationId: 'g:big',
  recipientKind: 'GROUP',
  recipientId: 'big',
  content,
  contentType,
  mentions: [],
  clientTimestamp: 1,
  receivedAt: 1,
  stampedAt: 1,
});

describe('messageFrame', () => {
  it("cuts a membership notice's member list on the wire and counts them all", () => {
    const members = Array.from({ length: 10_000 }, (_, i) => `member-${i}`);
    const content = JSON.stringify({ event: 'group_created', actor: 'owner', name: 'big', members });
    const body = JSON.parse(messageFrame(stamped('system/group_created', content)).content) as { event: string; name: string; members: string[]; members_count: number };
    expect(body.members).toEqual(members.slice(0, NOTICE_MEMBERS_LISTED));
    expect(body.members_count).toBe(10_000);
    expect(body).toMatchObject({ event: 'group_created', name: 'big' });
  });

  it('leaves a short member list, a user message and an unparsable system body as they are', () => {
    const short = JSON.stringify({ event: 'members_added', members: ['a', 'b'], via: 'invite' });
    expect(messageFrame(stamped('system/members_added', short)).content).toBe(short);
    const text = JSON.stringify({ members: Array.from({ length: 100 }, (_, i) => `m${i}`) });
    expect(messageFrame(stamped('text', text)).content).toBe(text);
    const broken = `{"members":[${'"x",'.repeat(100)}`;
    expect(messageFrame(stamped('system/members_added', broken)).content).toBe(broken);
  });
});
