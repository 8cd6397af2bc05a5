import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { OnlinePush } from '../../schemas/types.generated.js';
import { eventually } from '../../streams/testing.js';
import { connectRedis } from '../../connectors/redis/client.js';
import { ACCEPTED_AT_HEADER } from '../../core/logger.js';
import { STAGE_AT_HEADER, STAGE_HEADER } from '../../core/stages.js';
import type { PushBus, PushTrace } from './push-bus.js';
import { createMemoryPushBus } from './push-bus-memory.js';
import { createRedisPushBus } from './push-bus-redis.js';

/** The PushBus contract on memory and on real Redis (which must be up: no skipping). */
const REDIS_URL = process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379';

const impls = [
  { name: 'memory', create: async () => createMemoryPushBus() },
  {
    name: 'redis',
    create: async () =>
      createRedisPushBus({
        publisher: await connectRedis(REDIS_URL, 'bus-pub-test'),
        subscriber: await connectRedis(REDIS_URL, 'bus-sub-test'),
        channelPrefix: `test-${randomUUID()}:`,
        ownsClients: true,
      }),
  },
] as const;

const push = (gatewayId: string, n: number): OnlinePush => ({
  gatewayId,
  correlationId: `corr-${n}`,
  createdAt: 1_700_000_000_000 + n,
  deliveries: [{ userId: 'bob', connectionId: null, messageId: `m-${n}`, frame: JSON.stringify({ type: 'message', n }) }],
});

describe.each(impls)('push bus ($name)', ({ create }) => {
  let bus: PushBus | undefined;
  afterEach(async () => {
    await bus?.close();
  });

  it('delivers a gateway\'s pushes to its subscriber only, intact and in order', async () => {
    bus = await create();
    const got1: OnlinePush[] = [];
    const got2: OnlinePush[] = [];
    await bus.subscribe('gw-1', (p) => got1.push(p));
    await bus.subscribe('gw-2', (p) => got2.push(p));
    for (let i = 0; i < 5; i++) await bus.publish(push('gw-1', i));
    await bus.publish(push('gw-2', 99));
    await eventually(() => got1.length === 5 && got2.length === 1, 'pushes', 5_000);
    expect(got1).toEqual([0, 1, 2, 3, 4].map((i) => push('gw-1', i)));
    expect(got2).toEqual([push('gw-2', 99)]);
  });

  it('stops delivering after unsubscribe and ignores gateways nobody listens to', async () => {
    bus = await create();
    const got: OnlinePush[] = [];
    const unsubscribe = await bus.subscribe('gw-1', (p) => got.push(p));
    await bus.publish(push('gw-nobody', 1));
    await bus.publish(push('gw-1', 2));
    await eventually(() => got.length === 1, 'first push', 5_000);
    await unsubscribe();
    await bus.publish(push('gw-1', 3));
    await new Promise((r) => setTimeout(r, 200));
    expect(got.map((p) => p.correlationId)).toEqual(['corr-2']);
  });

  it('carries the stages of a push\'s message beside the push, which arrives unchanged', async () => {
    bus = await create();
    const got: { push: OnlinePush; trace: PushTrace | null }[] = [];
    await bus.subscribe('gw-1', (p, trace) => got.push({ push: p, trace }));
    const before = Date.now();
    await bus.publish(push('gw-1', 1), { [ACCEPTED_AT_HEADER]: String(before - 30), [STAGE_HEADER]: 'router:acked', [STAGE_AT_HEADER]: String(before - 10), 'im-correlation-id': 'corr-1' });
    await bus.publish(push('gw-1', 2), { 'im-correlation-id': 'corr-2' });
    await eventually(() => got.length === 2, 'both pushes', 5_000);
    expect(got.map((g) => g.push)).toEqual([push('gw-1', 1), push('gw-1', 2)]);
    const trace = got[0]!.trace!;
    expect(trace).toMatchObject({ acceptedAt: before - 30, via: 'router:acked', viaAt: before - 10 });
    expect(trace.publishedAt).toBeGreaterThanOrEqual(before);
    expect(trace.receivedAt).toBeGreaterThanOrEqual(trace.publishedAt);
    // A push whose record did not come from a gateway frame has no stages to carry.
    expect(got[1]!.trace).toBeNull();
  });
});
