import { loadConfig } from '../../core/config.js';
import { createLogger, setLogLevel } from '../../core/logger.js';
import { enableDefaultMetrics } from '../../core/metrics.js';
import { connectInfrastructure, startEdge } from '../platform.js';
import { onShutdown } from './shutdown.js';

/** An edge process: WebSocket gateway, auth and the HTTP API, with /metrics on its own port. */
const config = loadConfig();
setLogLevel(config.logLevel);
enableDefaultMetrics();
const logger = createLogger('gateway');
const infra = await connectInfrastructure(config, logger);
const edge = await startEdge(infra, logger);
logger.info('gateway listening', { gatewayId: config.edge.gatewayId, url: `ws://${config.edge.host}:${edge.port}/ws` });
onShutdown(logger, async () => {
  await edge.stop();
  await infra.close();
});
