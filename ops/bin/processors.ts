import { loadConfig } from '../../core/config.js';
import { applyHeapGrowing, collectOnSignal } from '../../core/heap.js';
import { createLogger, setLogLevel } from '../../core/logger.js';
import { enableDefaultMetrics } from '../../core/metrics.js';
import { startMetricsServer } from '../metrics-server.js';
import { stateViewRoutes } from '../state-view.js';
import { connectInfrastructure, startPipeline, type Infrastructure, type RunningPipeline } from '../platform.js';
import { onShutdown, startOrExit } from './shutdown.js';

/** A pipeline process: the processors named by IM_PROCESSORS (default all), scaled by replicas. */
let ready = false;
let metrics: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
let infra: Infrastructure | undefined;
let pipeline: RunningPipeline | undefined;
const stop = async (): Promise<void> => {
  ready = false;
  await pipeline?.stop();
  await infra?.close();
  await metrics?.close();
};
const { logger, names, metricsPort } = await startOrExit(
  'processors',
  async () => {
    const config = loadConfig();
    setLogLevel(config.logLevel);
    applyHeapGrowing(config.heapGrowingPercent);
    enableDefaultMetrics();
    const logger = createLogger('processors');
    // First: a metrics port held by another process fails before any consumer group is joined.
    const routes = stateViewRoutes(() => pipeline?.state() ?? [], { adminToken: config.admin.token });
    metrics = await startMetricsServer(config.metricsPort, () => {
      const deps = infra?.health.status() ?? { ready: false, failing: [] };
      return { ready: ready && deps.ready, failing: deps.failing };
    }, { routes });
    infra = await connectInfrastructure(config, logger);
    const names = config.processors.includes('all') ? undefined : config.processors;
    pipeline = await startPipeline(infra, logger, names);
    return { logger, names, metricsPort: metrics.port };
  },
  stop,
);
ready = true;
collectOnSignal();
logger.info('processors running', { processors: names ?? 'all', metrics: `http://127.0.0.1:${metricsPort}/metrics` });
onShutdown(logger, stop);
