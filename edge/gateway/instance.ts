import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { PlatformError, PortInUseError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { registry } from '../../core/metrics.js';
import { probePort } from '../../core/ports.js';

/**
 * A gateway instance: one primary process and N worker processes, all on one port. Each
 * worker is a whole gateway (its own gateway id `<id>-<i>`, presence and push-bus channel,
 * up to its own file limit of sockets); the kernel spreads connections over their SO_REUSEPORT
 * listeners. The port is shared only inside the instance: the primary holds a lock named after
 * host:port (a second instance stops there) and checks that no other process holds the port
 * before it forks, so an unrelated listener is refused with PORT_IN_USE as before.
 *
 * Metrics: any worker answers /metrics on the instance's port with the whole instance (the
 * primary gathers every worker's registry), each series labelled `worker="<i>"`, so one
 * Prometheus target per instance sees every worker.
 *
 * Limit: a process that itself listens with SO_REUSEPORT on the port after the instance
 * started (uWS's default listen) joins the group; the kernel cannot tell it from a worker.
 */

/** Set by the primary in its workers' environment: the worker's index. */
export const WORKER_ENV = 'IM_GATEWAY_WORKER_INDEX';

/** Primary <-> worker messages over the fork IPC channel. */
type ToWorker = { t: 'metrics-json'; id: number } | { t: 'metrics-text'; id: number; text: string | null };
type ToPrimary =
  | { t: 'ready'; port: number }
  | { t: 'metrics-json'; id: number; metrics: MetricObjectWithValues<MetricValue<string>>[] }
  | { t: 'metrics'; id: number };

/** How long the primary waits for one worker's metrics before leaving it out of a scrape. */
const METRICS_TIMEOUT_MS = 5_000;

export interface InstanceOptions {
  workers: number;
  /** The instance's gateway id; worker i is `<gatewayId>-<i>`. */
  gatewayId: string;
  host: string;
  /** 0 picks a free port once, for every worker. */
  port: number;
  /** Environment for every worker on top of this process's (e.g. the instance's signing key). */
  env?: Record<string, string>;
  /** The worker's entry script and node arguments (default: this process's). */
  script?: string;
  execArgv?: string[];
  logger: Logger;
  /** Wait before restarting a worker that died. */
  restartDelayMs?: number;
  /** Grace for the workers' graceful stop before SIGKILL. */
  stopTimeoutMs?: number;
}

export interface GatewayInstance {
  readonly port: number;
  /** Pids of the workers alive now, by index. */
  workerPids(): number[];
  /** SIGTERM to every worker (each stops gracefully), then waits for them all. */
  stop(): Promise<void>;
}

interface Slot {
  index: number;
  child: ChildProcess | null;
  ready: boolean;
}

/** Starts the instance: lock, port check, workers; resolves when every worker listens. */
export async function startGatewayInstance(o: InstanceOptions): Promise<GatewayInstance> {
  const port = o.port === 0 ? await freePort(o.host) : o.port;
  const lock = await holdInstanceLock(o.host, port);
  const held = await probePort('IM_EDGE_PORT', o.host, port);
  if (held) {
    lock.close();
    throw held;
  }
  const restartDelayMs = o.restartDelayMs ?? 1_000;
  const slots: Slot[] = Array.from({ length: o.workers }, (_, index) => ({ index, child: null, ready: false }));
  let stopping = false;
  let nextId = 0;
  const pendingJson = new Map<number, (m: MetricObjectWithValues<MetricValue<string>>[] | null) => void>();

  /** Every ready worker's registry, aggregated (labels keep the workers apart). */
  const instanceMetrics = async (): Promise<string> => {
    const parts = await Promise.all(
      slots.filter((s) => s.ready && s.child?.connected).map(
        (s) =>
          new Promise<MetricObjectWithValues<MetricValue<string>>[] | null>((resolve) => {
            const id = ++nextId;
            const timer = setTimeout(() => {
              pendingJson.delete(id);
              resolve(null);
            }, METRICS_TIMEOUT_MS);
            pendingJson.set(id, (m) => {
              clearTimeout(timer);
              resolve(m);
            });
            s.child!.send({ t: 'metrics-json', id } satisfies ToWorker);
          }),
      ),
    );
    return AggregatorRegistry.aggregate(parts.filter((p) => p !== null)).metrics();
  };

  const spawnWorker = (slot: Slot, onReady: () => void, onEarlyExit: (code: number | null, signal: string | null) => void): void => {
    const child = fork(o.script ?? process.argv[1]!, [], {
      execArgv: o.execArgv ?? process.execArgv,
      env: { ...process.env, ...o.env, [WORKER_ENV]: String(slot.index), IM_GATEWAY_ID: o.gatewayId, IM_EDGE_PORT: String(port), IM_EDGE_HOST: o.host },
      // In the primary's process group, so a SIGKILL to the group takes the whole instance.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    slot.child = child;
    slot.ready = false;
    child.on('message', (m: ToPrimary) => {
      if (m.t === 'ready') {
        slot.ready = true;
        o.logger.info('gateway worker ready', { worker: slot.index, pid: child.pid, port });
        onReady();
      } else if (m.t === 'metrics-json') {
        pendingJson.get(m.id)?.(m.metrics);
        pendingJson.delete(m.id);
      } else if (m.t === 'metrics') {
        instanceMetrics().then(
          (text) => child.connected && child.send({ t: 'metrics-text', id: m.id, text } satisfies ToWorker),
          (err: unknown) => {
            o.logger.warn('instance metrics failed', { err });
            if (child.connected) child.send({ t: 'metrics-text', id: m.id, text: null } satisfies ToWorker);
          },
        );
      }
    });
    child.once('exit', (code, signal) => {
      const wasReady = slot.ready;
      slot.ready = false;
      slot.child = null;
      if (stopping) return;
      if (!wasReady) return onEarlyExit(code, signal);
      // One line per death; the replacement takes the same gateway id, so its start supersedes
      // the presence entries the dead one left behind.
      o.logger.warn('gateway worker exited; restarting', { worker: slot.index, pid: child.pid, code, signal, restartInMs: restartDelayMs });
      restart(slot);
    });
  };
  const restart = (slot: Slot): void => {
    setTimeout(() => {
      if (stopping) return;
      spawnWorker(slot, () => undefined, (code, signal) => {
        o.logger.error('restarted gateway worker exited before it listened; trying again', { worker: slot.index, code, signal, restartInMs: restartDelayMs });
        restart(slot);
      });
    }, restartDelayMs);
  };

  const stop = async (): Promise<void> => {
    stopping = true;
    const exits = slots.map((s) => {
      const child = s.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), o.stopTimeoutMs ?? 30_000);
      return exited.finally(() => clearTimeout(timer));
    });
    await Promise.all(exits);
    lock.close();
  };

  try {
    await Promise.all(
      slots.map(
        (slot) =>
          new Promise<void>((resolve, reject) =>
            spawnWorker(slot, resolve, (code, signal) =>
              reject(new PlatformError('GATEWAY_WORKER_FAILED', `gateway worker ${slot.index} exited (${signal ?? code}) before it listened; its own error is above`)),
            ),
          ),
      ),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, workerPids: () => slots.flatMap((s) => (s.child?.pid ? [s.child.pid] : [])), stop };
}

/**
 * One instance per host:port on this machine: an abstract Unix socket named after them, which
 * the kernel releases when the primary dies, however it dies.
 */
async function holdInstanceLock(host: string, port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new PortInUseError('IM_EDGE_PORT', `${host}:${port} (another gateway instance)`) : err),
    );
    server.listen({ path: `\0im-gateway@${host}:${port}` }, resolve);
  });
  return server;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A gateway process's part in an instance: null when it runs alone (not forked by a primary). */
export interface WorkerRole {
  index: number;
  /** The whole instance's metrics text, gathered by the primary. */
  metrics(): Promise<string>;
  /** Tells the primary this worker listens. */
  ready(port: number): void;
}

export function workerRole(env: NodeJS.ProcessEnv = process.env): WorkerRole | null {
  const raw = env[WORKER_ENV];
  if (raw === undefined || !process.send) return null;
  const index = Number(raw);
  // Every series this worker exports carries its index, so the instance's aggregate keeps them apart.
  registry.setDefaultLabels({ worker: String(index) });
  const send = (m: ToPrimary): void => void process.send?.(m);
  let nextId = 0;
  const waiting = new Map<number, (text: string | null) => void>();
  process.on('message', (m: ToWorker) => {
    if (m.t === 'metrics-json') registry.getMetricsAsJSON().then((metrics) => send({ t: 'metrics-json', id: m.id, metrics }), () => send({ t: 'metrics-json', id: m.id, metrics: [] }));
    else if (m.t === 'metrics-text') {
      waiting.get(m.id)?.(m.text);
      waiting.delete(m.id);
    }
  });
  return {
    index,
    metrics: () =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        waiting.set(id, (text) => (text === null ? reject(new Error('the instance\'s metrics are unavailable')) : resolve(text)));
        send({ t: 'metrics', id });
      }),
    ready: (port) => send({ t: 'ready', port }),
  };
}
