import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { openKafkaLog } from '../../streams/index.js';

/**
 * Deletes the topic namespaces that test, end-to-end, chaos and bench runs left behind
 * (`test-*`, `e2e-*`, `chaos-*`, `bench-*`). Each run makes its own namespace so runs never
 * see each other; without this the broker's partition count, and its heap, only grow.
 */
const log = createLogger('clean-test-topics');
const config = loadConfig({ ...process.env, IM_ENGINE: 'kafka' });
const kafka = await openKafkaLog(config.kafka.client, { brokers: config.kafka.brokers, clientId: 'im-clean-test-topics' });
try {
  const stale = (await kafka.listTopics()).filter((t) => /^(test|e2e|chaos|bench)-[^.]+\./.test(t));
  await kafka.deleteTopics(stale);
  log.info('deleted leftover test topics', { count: stale.length });
} catch (err) {
  log.error('cleaning test topics failed', { error: err });
  process.exitCode = 1;
} finally {
  await kafka.close();
}
