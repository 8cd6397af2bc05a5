import { generateKeyPairSync } from 'node:crypto';
import { loadConfig, type PlatformConfig } from '../../core/config.js';
import { applyHeapGrowing, collectOnSignal } from '../../core/heap.js';
import { createLogger, setLogLevel, type Logger } from '../../core/logger.js';
import { enableDefaultMetrics } from '../../core/metrics.js';
import { startGatewayInstance, workerRole, type GatewayInstance, type WorkerRole } from '../../edge/gateway/index.js';
import { connectInfrastructure, startEdge, type Infrastructure, type RunningEdge } from '../platform.js';
import { onShutdown, startOrExit } from './shutdown.js';

/**
 * An edge process: WebSocket gateway, auth and the HTTP API, /metrics on its port. With
 * IM_GATEWAY_WORKERS > 1 (the default on a multi-core machine) this process is the instance's
 * primary and forks the workers, each a whole gateway on the same port (edge/gateway/instance.ts);
 * the workers run this file too, told apart by the primary's environment.
 */
const role = workerRole();
const config = await startOrExit('gateway', async () => loadConfig());
setLogLevel(config.logLevel);
applyHeapGrowing(config.heapGrowingPercent);

if (role === null && config.edge.workers > 1) await runPrimary(config, createLogger('gateway-instance'));
else await runGateway(config, role);

async function runPrimary(config: PlatformConfig, logger: Logger): Promise<void> {
  let instance: GatewayInstance | undefined;
  const stop = async (): Promise<void> => instance?.stop();
  // Workers must accept each other's tokens: without a configured key they share one made here.
  const env: Record<string, string> = config.auth.privateKeyPem || config.auth.jwksUrl ? {} : { IM_AUTH_PRIVATE_KEY_PEM: ephemeralSigningKey() };
  const { gatewayId, workers, host, port } = config.edge;
  instance = await startOrExit('gateway', () => startGatewayInstance({ workers, gatewayId, host, port, env, logger }), stop);
  logger.info('gateway instance listening', { gatewayId: config.edge.gatewayId, workers: config.edge.workers, port: instance.port, pids: instance.workerPids(), url: `ws://${config.edge.host}:${instance.port}/ws` });
  // The primary's memory is measured too: what it holds between its collections is garbage of the
  // metrics pages it aggregates.
  collectOnSignal();
  onShutdown(logger, stop);
}

function ephemeralSigningKey(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

async function runGateway(base: PlatformConfig, role: WorkerRole | null): Promise<void> {
  // A worker is a gateway of its own: its id names its presence entries and push-bus channel.
  const config = role ? { ...base, edge: { ...base.edge, gatewayId: `${base.edge.gatewayId}-${role.index}` } } : base;
  let infra: Infrastructure | undefined;
  let edge: RunningEdge | undefined;
  const stop = async (): Promise<void> => {
    await edge?.stop();
    await infra?.close();
  };
  const logger = createLogger('gateway', role ? { worker: role.index } : {});
  const port = await startOrExit(
    'gateway',
    async () => {
      enableDefaultMetrics();
      infra = await connectInfrastructure(config, logger);
      edge = await startEdge(infra, logger, { worker: role ?? undefined });
      return edge.port;
    },
    stop,
  );
  logger.info('gateway listening', { gatewayId: config.edge.gatewayId, url: `ws://${config.edge.host}:${port}/ws` });
  collectOnSignal();
  role?.ready(port);
  if (role) {
    // A terminal's Ctrl-C reaches the whole process group: the primary turns it into one SIGTERM
    // per worker, which a worker that took the SIGINT too would count as a second signal.
    process.on('SIGINT', () => undefined);
  }
  // A worker follows its primary: when the primary is gone (killed), nothing else stops it.
  onShutdown(logger, stop, { followParent: role !== null, signals: role ? ['SIGTERM'] : undefined });
}
