import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { registry } from '../core/metrics.js';
import { createDependencyHealth, type DependencyProbe } from './health.js';

const logger = createLogger('health-test');
const lines: string[] = [];
const counting = { ...logger, error: (msg: string) => void lines.push(`error ${msg}`), warn: (msg: string) => void lines.push(`warn ${msg}`) } as typeof logger;

/** im_dependency_outages_total by dependency (the registry is the process's, shared by tests). */
async function outages(): Promise<Record<string, number>> {
  const values = (await registry.getSingleMetric('im_dependency_outages_total')!.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.dependency), v.value]));
}

describe('dependency health behind /readyz', () => {
  const clients: Redis[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
    lines.length = 0;
  });

  it('is not ready while a critical dependency fails, only reports a non-critical one, and logs each change once', async () => {
    let kafkaUp = true;
    const probes: DependencyProbe[] = [
      { name: 'kafka', critical: true, check: async () => { if (!kafkaUp) throw new Error('refused'); } },
      { name: 'mongodb', critical: false, check: () => new Promise(() => {}) }, // never answers
    ];
    const health = createDependencyHealth(probes, { timeoutMs: 50, logger: counting });
    expect(health.status()).toEqual({ ready: true, failing: [] });
    const outagesBefore = await outages();
    // Exported at 0 before any outage (the alert fires on an increase).
    expect(outagesBefore).toMatchObject({ kafka: 0, mongodb: 0 });
    expect(await health.probe()).toEqual({ ready: true, failing: ['mongodb'] });
    kafkaUp = false;
    expect(await health.probe()).toEqual({ ready: false, failing: ['kafka', 'mongodb'] });
    expect(await health.probe()).toEqual({ ready: false, failing: ['kafka', 'mongodb'] });
    kafkaUp = true;
    expect(await health.probe()).toEqual({ ready: true, failing: ['mongodb'] });
    expect(lines).toEqual(['error dependency not answering', 'error dependency not answering', 'warn dependency answering again']);
    // One outage each: kafka's two failed probes are one stretch; mongodb never answered.
    const after = await outages();
    expect([after.kafka! - outagesBefore.kafka!, after.mongodb! - outagesBefore.mongodb!]).toEqual([1, 1]);
    expect(await registry.getSingleMetricAsString('im_dependency_up')).toMatch(/im_dependency_up\{dependency="kafka"\} 1[\s\S]*im_dependency_up\{dependency="mongodb"\} 0/);
  });

  it('probes a real Redis: answering, and not when nothing listens', async () => {
    const live = new Redis(process.env.IM_REDIS_URL_TEST ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 0 });
    // Port 1 on loopback: nothing listens there, the connection is refused.
    const dead = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    dead.on('error', () => {});
    clients.push(live, dead);
    const health = createDependencyHealth(
      [
        { name: 'redis', critical: true, check: () => live.ping() },
        { name: 'redis-replica', critical: true, check: () => dead.connect().then(() => dead.ping()) },
      ],
      { timeoutMs: 1_000, logger: counting },
    );
    expect(await health.probe()).toEqual({ ready: false, failing: ['redis-replica'] });
  });
});
