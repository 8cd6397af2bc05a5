import { loadConfig } from '../../core/config.js';
import { createLogger, setLogLevel } from '../../core/logger.js';
import { enableDefaultMetrics } from '../../core/metrics.js';
import { connectInfrastructure, startEdge, type Infrastructure, type RunningEdge } from '../platform.js';
import { onShutdown, startOrExit } from './shutdown.js';

/** An edge process: WebSocket gateway, auth and the HTTP API, with /metrics on its own port. */
let infra: Infrastructure | undefined;
let edge: RunningEdge | undefined;
const stop = async (): Promise<void> => {
  await edge?.stop();
  await infra?.close();
};
const { config, logger, port } = await startOrExit(
  'gateway',
  async () => {
    const config = loadConfig();
    setLogLevel(config.logLevel);
    enableDefaultMetrics();
    const logger = createLogger('gateway');
    infra = await connectInfrastructure(config, logger);
    edge = await startEdge(infra, logger);
    return { config, logger, port: edge.port };
  },
  stop,
);
logger.info('gateway listening', { gatewayId: config.edge.gatewayId, url: `ws://${config.edge.host}:${port}/ws` });
onShutdown(logger, stop);
