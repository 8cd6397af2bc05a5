import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../core/config.js';
import { applyHeapGrowing } from '../../core/heap.js';
import { createLogger, setLogLevel } from '../../core/logger.js';
import { enableDefaultMetrics } from '../../core/metrics.js';
import { connectInfrastructure, startEdge, startPipeline, type Infrastructure, type RunningEdge, type RunningPipeline } from '../platform.js';
import { stateViewRoutes } from '../state-view.js';
import { onShutdown, startOrExit } from './shutdown.js';

/**
 * `make run`: the whole platform in one process. With no configuration it runs on the
 * embedded in-memory engine with in-process presence and stores; with IM_ENGINE=kafka,
 * IM_REDIS_URL and IM_MONGO_URL set it runs the same code on the real stack.
 */
let infra: Infrastructure | undefined;
let pipeline: RunningPipeline | undefined;
let edge: RunningEdge | undefined;
const stop = async (): Promise<void> => {
  await edge?.stop();
  await pipeline?.stop();
  await infra?.close();
};
const { config, logger, port } = await startOrExit(
  'make run',
  async () => {
    const config = loadConfig();
    setLogLevel(config.logLevel);
    applyHeapGrowing(config.heapGrowingPercent);
    enableDefaultMetrics();
    const logger = createLogger('platform');
    infra = await connectInfrastructure(config, logger);
    const running = await startPipeline(infra, logger);
    pipeline = running;
    // One process: the gateway serves the operators' state view too.
    const routes = stateViewRoutes(() => running.state(), { adminToken: config.admin.token });
    edge = await startEdge(infra, logger, { staticDir: fileURLToPath(new URL('../../edge/web', import.meta.url)), routes });
    return { config, logger, port: edge.port };
  },
  stop,
);
const base = `${config.edge.host}:${port}`;
process.stdout.write(
  [
    '',
    `  im-platform is running (${config.engine === 'memory' ? 'embedded in-memory engine' : 'Kafka'}, presence: ${config.redis.url ? 'Redis' : 'in-process'}, store: ${config.mongo.url ? 'MongoDB' : 'in-memory'})`,
    `  web client   http://${base}/`,
    `  WebSocket    ws://${base}/ws?token=<access token>`,
    `  HTTP API     http://${base}/v1/...   (register: POST /v1/auth/register)`,
    `  metrics      http://${base}/metrics`,
    ...(config.admin.token ? [`  state view   http://${base}/state   (Authorization: Bearer $IM_ADMIN_TOKEN)`] : []),
    '',
  ].join('\n') + '\n',
);
onShutdown(logger, stop, { followParent: true });
