import { loadConfig } from '../../core/config.js';
import { createLogger, setLogLevel } from '../../core/logger.js';
import { enableDefaultMetrics } from '../../core/metrics.js';
import { startMetricsServer } from '../metrics-server.js';
import { connectInfrastructure, startPipeline } from '../platform.js';
import { onShutdown } from './shutdown.js';

/** A pipeline process: the processors named by IM_PROCESSORS (default all), scaled by replicas. */
const config = loadConfig();
setLogLevel(config.logLevel);
enableDefaultMetrics();
const logger = createLogger('processors');
let ready = false;
const metrics = await startMetricsServer(config.metricsPort, () => ready);
const infra = await connectInfrastructure(config, logger);
const names = config.processors.includes('all') ? undefined : config.processors;
const pipeline = await startPipeline(infra, logger, names);
ready = true;
logger.info('processors running', { processors: names ?? 'all', metrics: `http://127.0.0.1:${metrics.port}/metrics` });
onShutdown(logger, async () => {
  ready = false;
  await pipeline.stop();
  await infra.close();
  await metrics.close();
});
