import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { createRegistryClient, registerAllSchemas } from '../../schemas/serde.js';
import { KafkaLog } from '../../topologies/runtime/log-kafka.js';
import { catalogTopicDefinitions } from '../../topologies/runtime/streams-app.js';

/**
 * Idempotent provisioning of the real stack from `schemas/topics.json`: every topic with its
 * partitions and configs (compaction for state topics), and every value schema registered
 * under `<topic>-value` with BACKWARD compatibility. An incompatible schema change fails here.
 */
const log = createLogger('provision');
const config = loadConfig({ ...process.env, IM_ENGINE: 'kafka' });
const kafka = new KafkaLog({ brokers: config.kafka.brokers, clientId: 'im-provision' });
try {
  const topics = catalogTopicDefinitions();
  await kafka.createTopics(topics);
  log.info('topics ready', { count: topics.length, topics: topics.map((t) => `${t.name}(${t.partitions}${t.config['cleanup.policy'] ? `, ${t.config['cleanup.policy']}` : ''})`) });
  const registered = await registerAllSchemas(createRegistryClient(config.registry.url), config.registry.url);
  log.info('schemas registered', { subjects: registered.map((r) => `${r.subject}#${r.id}`) });
} catch (err) {
  log.error('provisioning failed', { error: err });
  process.exitCode = 1;
} finally {
  await kafka.close();
}
