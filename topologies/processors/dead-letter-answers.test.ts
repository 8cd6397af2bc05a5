import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../core/circuit-breaker.js';
import { recordingLogger, type LogLine } from '../../core/testing.js';
import { createMemoryMessageStore } from '../../connectors/message-store/message-store-memory.js';
import { createMemoryRecentCache } from '../../connectors/message-store/recent-cache-memory.js';
import { Topology } from '../../streams/index.js';
import { TopologyTestDriver } from '../../streams/testing.js';
import { queryProcessor } from './query.js';
import { routerProcessor } from './router.js';
import { frames, origin } from './testing.js';

/**
 * A client's frame that a processor cannot handle is dead-lettered, and its sender is still
 * answered: an error frame with the frame's msg_id to its connection, never silence.
 */

describe('dead-lettered client frames are answered', () => {
  it('by the router, with the msg_id the frame carried', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 500 });
    breaker.allow = () => {
      throw new Error('the router broke');
    };
    const lines: LogLine[] = [];
    const config = { maxContentChars: 100, routerRatePerSec: 100, routerBurst: 100, routerStaleMs: 1_000, breakerFailureThreshold: 3, breakerOpenMs: 500 };
    const driver = await TopologyTestDriver.start(new Topology('router-dead').processor('router', routerProcessor({ breaker }, config)), { logger: recordingLogger(lines) });
    const payload = JSON.stringify({ type: 'send_msg', msg_id: 'lost-1', recipient: 'bob', content: 'hi', timestamp: 1 });
    await driver.pipe('im.ingress', [{ key: 'ann', value: { correlationId: 'c1', userId: 'ann', origin: origin('conn-ann'), receivedAt: driver.clock.now(), frameType: 'send_msg', payload } }]);
    expect(driver.read('im.dlq').map((r) => r.value.processor)).toEqual(['router']);
    expect(frames(driver.read('im.push.online'))).toEqual([{ userId: 'ann', connectionId: 'conn-ann', frame: expect.objectContaining({ type: 'error', error_code: 'INTERNAL_ERROR', msg_id: 'lost-1' }) }]);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg)).toEqual(['record sent to dead-letter topic']);
  });

  it('by the query processor, for a sync whose look-up keeps failing', async () => {
    const lines: LogLine[] = [];
    const groups = { groupsOf: async (): Promise<string[]> => { throw new Error('directory down'); } };
    const query = queryProcessor({ store: createMemoryMessageStore(), recent: createMemoryRecentCache({ perConversation: 10 }), groups }, { defaultPageSize: 20, maxPageSize: 50, maxConversations: 100 });
    const driver = await TopologyTestDriver.start(new Topology('query-dead').processor('query', query), { logger: recordingLogger(lines) });
    await driver.pipe('im.cmd.sync', [{ key: 'bob', value: { correlationId: 's1', userId: 'bob', origin: origin('conn-bob'), conversationId: null, afterSeq: 0, limit: 10, at: 1, clientMsgId: 'sync-1' } }]);
    expect(driver.read('im.dlq').map((r) => r.value.processor)).toEqual(['query']);
    expect(frames(driver.read('im.push.online'))).toEqual([{ userId: 'bob', connectionId: 'conn-bob', frame: expect.objectContaining({ type: 'error', error_code: 'INTERNAL_ERROR', msg_id: 'sync-1' }) }]);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg)).toEqual(['record sent to dead-letter topic']);
  });
});
