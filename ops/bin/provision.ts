import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { provision } from '../provision.js';

const log = createLogger('provision');
try {
  const { topics, schemas } = await provision(loadConfig({ ...process.env, IM_ENGINE: 'kafka' }));
  log.info('topics ready', { topics: topics.map((t) => `${t.name}(${t.partitions}${t.config['cleanup.policy'] ? `, ${t.config['cleanup.policy']}` : ''})`) });
  log.info('schemas registered', { subjects: schemas.map((r) => `${r.subject}#${r.id}`) });
} catch (err) {
  log.error('provisioning failed', { error: err });
  process.exitCode = 1;
}
