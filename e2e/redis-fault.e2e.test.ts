import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { registry } from '../core/metrics.js';
import { eventually } from '../streams/testing.js';
import { freePort } from './chaos-processes.js';
import { redisAnswers, startPrivateRedis } from './private-redis.js';
import { sendMsg, startPlatform, type Platform } from './harness.js';

/**
 * Issue 10, the fault that went unnoticed: Redis restarts (empty) under a connected platform.
 * The platform must notice (/readyz red, naming redis), rebuild presence from its open sockets
 * once Redis is back, and deliver live again, with no reconnect by the clients. A Redis of the
 * test's own (same binary as the stack's), so killing it disturbs nothing else.
 */
async function readyz(p: Platform): Promise<{ status: number; failing: string[] }> {
  const res = await fetch(`${p.baseUrl}/readyz`);
  return { status: res.status, failing: ((await res.json()) as { failing: string[] }).failing };
}

const rebuilds = async (): Promise<number> => {
  const metric = await registry.getSingleMetric('im_presence_rebuilds_total')?.get();
  return (metric?.values ?? []).reduce((n, v) => n + v.value, 0);
};

describe('Redis restarted under a running platform', () => {
  let redis: ChildProcess | undefined;
  let p: Platform | undefined;
  afterAll(async () => {
    await p?.stop();
    redis?.kill('SIGKILL');
  });

  it('turns /readyz red while Redis is gone, rebuilds presence when it is back, and delivers live again', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    redis = startPrivateRedis(port);
    await eventually(() => redisAnswers(url), 'private Redis up', 10_000);
    p = await startPlatform('kafka', { IM_REDIS_URL: url, IM_REQUIRE_FRIENDSHIP: 'false', IM_HEALTH_INTERVAL_MS: '200', IM_HEALTH_TIMEOUT_MS: '500' });
    const [ann, ben] = [await p.user('ann'), await p.user('ben')];
    const [a, b] = [await ann.connect(), await ben.connect()];

    a.send(sendMsg(ben.id, 'before'));
    expect(await b.next((f) => f.type === 'message' && f.content === 'before', 20_000)).toMatchObject({ sender: ann.id });

    const rebuiltBefore = await rebuilds();
    redis.kill('SIGKILL');
    await eventually(async () => {
      const r = await readyz(p!);
      return r.status === 503 && r.failing.includes('redis');
    }, '/readyz red, naming redis', 10_000);

    redis = startPrivateRedis(port); // empty: presence and subscriptions are gone
    await eventually(async () => (await readyz(p!)).status === 200, '/readyz green again', 20_000);
    await eventually(async () => (await rebuilds()) > rebuiltBefore, 'presence rebuilt from the open sockets', 20_000);

    // The same sockets, no reconnect: a new message reaches ben live.
    a.send(sendMsg(ben.id, 'after'));
    expect(await b.next((f) => f.type === 'message' && f.content === 'after', 20_000)).toMatchObject({ sender: ann.id });
  });
});
