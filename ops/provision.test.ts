import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { topicCatalog } from '../schemas/catalog.js';
import { namespacedLog, openKafkaLog } from '../streams/index.js';
import { provision } from './provision.js';

describe('provisioning the real stack', () => {
  it('creates every topic with its partitions and compaction, idempotently', async () => {
    const config = loadConfig({ ...process.env, IM_ENGINE: 'kafka' });
    await provision(config);
    const second = await provision(config); // idempotent: same ids, no error
    expect(second.schemas).toHaveLength(topicCatalog().size);
    const log = namespacedLog(await openKafkaLog(config.kafka.client, { brokers: config.kafka.brokers, clientId: 'provision-test' }), config.kafka.topicPrefix);
    try {
      for (const [name, spec] of topicCatalog()) {
        const described = await log.describeTopic(name);
        expect(described, name).toEqual({ name, partitions: spec.partitions, config: spec.config });
      }
      expect((await log.describeTopic('im.state.members'))?.config['cleanup.policy']).toBe('compact');
    } finally {
      await log.close();
    }
  });
});
