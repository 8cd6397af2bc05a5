import type { PlatformConfig } from '../core/config.js';
import { createRegistryClient, registerAllSchemas, type RegistrationResult } from '../schemas/serde.js';
import { type TopicDefinition, openKafkaLog, namespacedLog, catalogTopicDefinitions } from '../streams/index.js';

/**
 * Idempotent provisioning of a real stack from `schemas/topics.json`: every topic with its
 * partitions and configs (compaction for state topics), and every value schema registered
 * under `<topic>-value` with BACKWARD compatibility. An incompatible schema change fails here.
 */
export async function provision(config: PlatformConfig): Promise<{ topics: TopicDefinition[]; schemas: RegistrationResult[] }> {
  const kafka = namespacedLog(await openKafkaLog(config.kafka.client, { brokers: config.kafka.brokers, clientId: 'im-provision' }), config.kafka.topicPrefix);
  try {
    const topics = catalogTopicDefinitions();
    await kafka.createTopics(topics);
    const schemas = await registerAllSchemas(createRegistryClient(config.registry.url), config.registry.url);
    return { topics, schemas };
  } finally {
    await kafka.close();
  }
}
