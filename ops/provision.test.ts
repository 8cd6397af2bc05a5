import { Kafka, logLevel, ConfigResourceTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { topicCatalog } from '../schemas/catalog.js';
import { provision } from './provision.js';

describe('provisioning the real stack', () => {
  it('creates every topic with its partitions and compaction, idempotently', async () => {
    const config = loadConfig({ ...process.env, IM_ENGINE: 'kafka' });
    await provision(config);
    const second = await provision(config); // idempotent: same ids, no error
    expect(second.schemas).toHaveLength(topicCatalog().size);
    const admin = new Kafka({ brokers: config.kafka.brokers, clientId: 'provision-test', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [...topicCatalog().keys()] });
      for (const t of meta.topics) expect(t.partitions).toHaveLength(topicCatalog().get(t.name)!.partitions);
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'im.state.members', configNames: ['cleanup.policy'] }],
      });
      expect(described.resources[0]!.configEntries[0]!.configValue).toBe('compact');
    } finally {
      await admin.disconnect();
    }
  });
});
