import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../core/config.js';
import { createLogger, setLogLevel } from '../../core/logger.js';
import { enableDefaultMetrics } from '../../core/metrics.js';
import { connectInfrastructure, startEdge, startPipeline } from '../platform.js';
import { onShutdown } from './shutdown.js';

/**
 * `make run`: the whole platform in one process. With no configuration it runs on the
 * embedded in-memory engine with in-process presence and stores; with IM_ENGINE=kafka,
 * IM_REDIS_URL and IM_MONGO_URL set it runs the same code on the real stack.
 */
const config = loadConfig();
setLogLevel(config.logLevel);
enableDefaultMetrics();
const logger = createLogger('platform');
const infra = await connectInfrastructure(config, logger);
const pipeline = await startPipeline(infra, logger);
const edge = await startEdge(infra, logger, { staticDir: fileURLToPath(new URL('../../edge/web', import.meta.url)) });
const base = `${config.edge.host}:${edge.port}`;
process.stdout.write(
  [
    '',
    `  im-platform is running (${config.engine === 'memory' ? 'embedded in-memory engine' : 'Kafka'}, presence: ${config.redis.url ? 'Redis' : 'in-process'}, store: ${config.mongo.url ? 'MongoDB' : 'in-memory'})`,
    `  web client   http://${base}/`,
    `  WebSocket    ws://${base}/ws?token=<access token>`,
    `  HTTP API     http://${base}/v1/...   (register: POST /v1/auth/register)`,
    `  metrics      http://${base}/metrics`,
    '',
  ].join('\n') + '\n',
);
onShutdown(logger, async () => {
  await edge.stop();
  await pipeline.stop();
  await infra.close();
});
