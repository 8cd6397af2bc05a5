import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';

/**
 * Deletes the topic namespaces that test, end-to-end, chaos and bench runs left behind
 * (`test-*`, `e2e-*`, `chaos-*`, `bench-*`). Each run makes its own namespace so runs never
 * see each other; without this the broker's partition count, and its heap, only grow.
 */
const log = createLogger('clean-test-topics');
const config = loadConfig({ ...process.env, IM_ENGINE: 'kafka' });
const admin = new Kafka({ brokers: config.kafka.brokers, clientId: 'im-clean-test-topics', logLevel: logLevel.NOTHING }).admin();
try {
  await admin.connect();
  const stale = (await admin.listTopics()).filter((t) => /^(test|e2e|chaos|bench)-[^.]+\./.test(t));
  for (let i = 0; i < stale.length; i += 100) await admin.deleteTopics({ topics: stale.slice(i, i + 100), timeout: 30_000 });
  log.info('deleted leftover test topics', { count: stale.length });
} catch (err) {
  log.error('cleaning test topics failed', { error: err });
  process.exitCode = 1;
} finally {
  await admin.disconnect();
}
