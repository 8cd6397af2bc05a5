import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PlatformError, PortInUseError } from '../../core/errors.js';
import { startMetricsServer } from '../../ops/metrics-server.js';
import { eventually } from '../../streams/testing.js';
import type { PushBus } from '../delivery/push-bus.js';
import { createMemoryPushBus } from '../delivery/push-bus-memory.js';
import { foreignUwsListener as foreignListener, startTestGateway, type GatewayHarness } from './testing.js';

/** Every listener of the platform refuses a port another process holds (no silent SO_REUSEPORT sharing). */
const harnesses: GatewayHarness[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Another process listening the way uWS does by default (SO_REUSEPORT): an unrelated copy of the platform. */
async function foreignUwsListener(): Promise<number> {
  const { port, child } = await foreignListener();
  children.push(child);
  expect(port).toBeGreaterThan(0);
  return port;
}

describe('exclusive ports', () => {
  it('refuses a second gateway on the first one\'s port with PORT_IN_USE naming IM_EDGE_PORT', async () => {
    const first = await startTestGateway();
    harnesses.push(first);
    const err = await startTestGateway({ config: { port: first.port } }).then(
      (h) => {
        harnesses.push(h);
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PortInUseError);
    expect((err as PlatformError).code).toBe('PORT_IN_USE');
    expect((err as Error).message).toContain(`127.0.0.1:${first.port}`);
    expect((err as Error).message).toContain('IM_EDGE_PORT');
    // The first one still serves.
    expect((await fetch(`http://127.0.0.1:${first.port}/healthz`)).status).toBe(200);
  });

  it('refuses a port that another process holds with SO_REUSEPORT (uWS default listen)', async () => {
    const port = await foreignUwsListener();
    const err = await startTestGateway({ config: { port } }).then(
      (h) => {
        harnesses.push(h);
        return null;
      },
      (e: unknown) => e,
    );
    expect((err as PlatformError | null)?.code).toBe('PORT_IN_USE');
  });

  it('keeps a later uWS default listener off the gateway\'s port', async () => {
    const h = await startTestGateway();
    harnesses.push(h);
    const { port, child } = await foreignListener(h.port);
    children.push(child);
    expect(port).toBe(-1);
  });

  it('reports the metrics server\'s held port as PORT_IN_USE naming IM_METRICS_PORT', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '0.0.0.0', r));
    const port = (holder.address() as { port: number }).port;
    try {
      const err = await startMetricsServer(port, () => ({ ready: true })).then(
        async (m) => {
          await m.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect((err as PlatformError | null)?.code).toBe('PORT_IN_USE');
      expect((err as Error).message).toContain('IM_METRICS_PORT');
    } finally {
      holder.close();
    }
  });
});

/** What a TCP connect to the port meets: 'connected' or the error's code. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('an instance\'s worker', () => {
  it('listens only once it can admit connections: none of its share is refused with 503 while it joins', async () => {
    const port = await freePort();
    let release = (): void => {};
    const held = new Promise<void>((r) => (release = r));
    let joining = false;
    const bus = createMemoryPushBus();
    const slowBus: PushBus = {
      publish: (push, headers) => bus.publish(push, headers),
      subscribe: async (gatewayId, onPush) => {
        joining = true;
        await held;
        return bus.subscribe(gatewayId, onPush);
      },
      close: () => bus.close(),
    };
    const starting = startTestGateway({ config: { port }, pushBus: slowBus, worker: { metrics: async () => '' } });
    await eventually(() => joining, 'the worker joining its push channel');
    // The kernel hands connections only to listening workers: this one is not among them yet.
    expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    release();
    const h = await starting;
    harnesses.push(h);
    expect(h.port).toBe(port);
    await h.client('alice', 'phone');
    expect(h.gateway.connectionCount).toBe(1);
  });
});
