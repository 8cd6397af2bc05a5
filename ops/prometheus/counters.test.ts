import { randomUUID } from 'node:crypto';
import type { MetricValue } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { registry } from '../../core/metrics.js';
import { createMemoryPresence } from '../../edge/presence/presence-memory.js';
import { createPresenceSync } from '../../edge/presence/sync.js';
import { StreamsApp, Topology } from '../../streams/index.js';
import { memoryEngine } from '../../streams/testing.js';

/**
 * ImDeadLetters and ImPresenceRebuilt fire on any increase of a counter. Prometheus sees no
 * increase in a series whose first sample is already 1, so these counters must be exported at
 * 0 before their first event (server.test.ts shows the alert missing the first rebuild without).
 */
async function values(metric: string): Promise<MetricValue<string>[]> {
  return (await registry.getSingleMetric(metric)!.get()).values;
}

describe('counters the alerts watch for any increase', () => {
  it('im_presence_rebuilds_total: every trigger at 0 once a gateway syncs presence', async () => {
    const sync = createPresenceSync({ presence: createMemoryPresence({ ttlMs: 60_000 }), gatewayId: 'gw-zero', entries: () => [], isOpen: () => false, logger: createLogger('test') });
    await sync.stop();
    expect((await values('im_presence_rebuilds_total')).map((v) => [v.labels.trigger, v.value]).sort()).toEqual([['heartbeat', 0], ['reconnect', 0], ['start', 0]]);
  });

  it('im_processor_dlq_total: each processor and topic it reads at 0 once the processor runs', async () => {
    const h = await memoryEngine();
    await h.createTopics(['im.cmd.send', 'im.msg.checked', 'im.dlq']);
    const topology = new Topology('zero-dlq').processor('zero-check', (p) => {
      p.stream('im.cmd.send').process(['im.msg.checked'], async () => []);
    });
    const app = new StreamsApp(topology, { log: h.log, serde: h.serde, appId: `zero-${randomUUID().slice(0, 8)}`, runtime: { maxRetries: 0, retryInitialMs: 1, retryMaxMs: 1, partitionsConcurrency: 1 } });
    try {
      await app.start();
      expect(await values('im_processor_dlq_total')).toContainEqual({ labels: { processor: 'zero-check', topic: 'im.cmd.send' }, value: 0 });
    } finally {
      await app.stop();
      await h.close();
    }
  });
});
