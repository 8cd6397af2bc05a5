import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../core/config.js';
import { issueAccessToken, loadKeys, type AuthKeys } from '../auth/index.js';
import { foreignUwsListener } from './testing.js';

/**
 * A gateway instance (ops/bin/gateway.ts with IM_GATEWAY_WORKERS=2, embedded engine) as a
 * process tree: its workers share the port, anything else on the port is refused, a dead
 * worker is replaced while the other serves, and SIGTERM to the primary stops them all.
 */
const SCRIPT = fileURLToPath(new URL('../../ops/bin/gateway.ts', import.meta.url));
const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const { issuer, audience } = loadConfig({}).auth;
const keys: Promise<AuthKeys> = loadKeys({ privateKeyPem: pem, mode: 'development' });

type LogLine = Record<string, unknown> & { msg?: string };

/** One `ops/bin/gateway.ts` process tree and its structured log (workers' lines included). */
class Instance {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  private readonly waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly gatewayId: string, port: number) {
    this.child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
      env: { ...process.env, IM_ENGINE: 'memory', IM_GATEWAY_WORKERS: '2', IM_EDGE_PORT: String(port), IM_GATEWAY_ID: gatewayId, IM_AUTH_PRIVATE_KEY_PEM: pem, IM_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    createInterface({ input: this.child.stderr! }).on('line', (text) => {
      this.stderr.push(text);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      this.lines.push(line);
      for (const w of this.waiters.filter((x) => x.test(line))) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(line);
      }
    });
  }

  /** The first log line (past or future) that passes `test`. */
  waitFor(test: (l: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(test);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  async listening(): Promise<{ port: number; pids: number[] }> {
    const l = await this.waitFor((x) => x.msg === 'gateway instance listening');
    return { port: l.port as number, pids: l.pids as number[] };
  }
}

const instances: Instance[] = [];
const sockets: WebSocket[] = [];
const others: ChildProcess[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const c of others.splice(0)) c.kill('SIGKILL');
  for (const i of instances.splice(0)) {
    if (i.child.exitCode !== null || i.child.signalCode !== null) continue;
    i.child.kill('SIGTERM');
    await i.exited;
  }
});

function start(port = 0): Instance {
  const i = new Instance(`gw-inst-${randomUUID().slice(0, 8)}`, port);
  instances.push(i);
  return i;
}

/** An authenticated connection: open, and its first heartbeat answered by the gateway. */
async function connect(port: number, userId: string): Promise<void> {
  const { token } = await issueAccessToken(await keys, { userId, deviceId: 'phone' }, { issuer, audience, ttlSec: 300 });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`);
  sockets.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`closed ${code} before the heartbeat answer`)));
    ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type?: string }).type === 'heartbeat') resolve();
    });
    ws.once('open', () => ws.send('{"type":"heartbeat"}'));
  });
}

/** Open connections per gateway id, from the instance's /metrics (any worker answers for all). */
async function connectionsByGateway(port: number): Promise<Map<string, { worker: string; n: number }>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, { worker: string; n: number }>();
  for (const m of text.matchAll(/^im_gateway_connections\{([^}]*)\} (\d+)$/gm)) {
    const gateway = /gateway="([^"]+)"/.exec(m[1]!)?.[1];
    const worker = /worker="([^"]+)"/.exec(m[1]!)?.[1];
    if (gateway && worker) out.set(gateway, { worker, n: Number(m[2]) });
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('gateway instance (workers on one port)', () => {
  it('spreads connections over its workers, each a gateway of its own, and refuses a second instance on its port', async () => {
    const a = start();
    const { port, pids } = await a.listening();
    expect(pids).toHaveLength(2);
    // 32 connections from distinct source ports: the kernel's hash puts some on each worker.
    await Promise.all(Array.from({ length: 32 }, (_, i) => connect(port, `user-${i}`)));
    const byGateway = await connectionsByGateway(port);
    expect(byGateway.get(`${a.gatewayId}-0`)?.worker).toBe('0');
    expect(byGateway.get(`${a.gatewayId}-1`)?.worker).toBe('1');
    expect(byGateway.get(`${a.gatewayId}-0`)!.n).toBeGreaterThan(0);
    expect(byGateway.get(`${a.gatewayId}-1`)!.n).toBeGreaterThan(0);
    expect(byGateway.get(`${a.gatewayId}-0`)!.n + byGateway.get(`${a.gatewayId}-1`)!.n).toBe(32);

    const b = start(port);
    expect(await b.exited).toBe(1);
    expect(b.stderr.join('\n')).toMatch(new RegExp(`gateway: 127\\.0\\.0\\.1:${port}.*IM_EDGE_PORT.*\\[PORT_IN_USE\\]`));
    expect(b.lines.some((l) => l.msg === 'gateway worker ready')).toBe(false);
  }, 120_000);

  it('refuses a port an unrelated process holds, forking no worker', async () => {
    const foreign = await foreignUwsListener();
    others.push(foreign.child);
    const i = start(foreign.port);
    expect(await i.exited).toBe(1);
    expect(i.stderr).toContain(`gateway: 127.0.0.1:${foreign.port} is already in use by another process; stop it or set IM_EDGE_PORT to a free port [PORT_IN_USE]`);
    expect(i.lines.some((l) => l.msg === 'gateway worker ready')).toBe(false);
  }, 120_000);

  it('replaces a worker that dies while the other serves, and stops every worker on SIGTERM', async () => {
    const i = start();
    const { port, pids } = await i.listening();
    const [victim, survivor] = pids as [number, number];
    process.kill(victim, 'SIGKILL');
    const death = await i.waitFor((l) => l.msg === 'gateway worker exited; restarting');
    expect(death).toMatchObject({ worker: 0, pid: victim, signal: 'SIGKILL' });
    // The dead worker's listener is gone with it: every new connection lands on the survivor.
    await Promise.all(Array.from({ length: 8 }, (_, n) => connect(port, `after-${n}`)));
    const replaced = await i.waitFor((l) => l.msg === 'gateway worker ready' && l.worker === 0 && l.pid !== victim);
    const replacement = replaced.pid as number;
    expect(alive(replacement)).toBe(true);
    expect((await connectionsByGateway(port)).get(`${i.gatewayId}-1`)?.n).toBe(8);
    expect(i.lines.filter((l) => l.msg === 'gateway worker exited; restarting')).toHaveLength(1);

    i.child.kill('SIGTERM');
    expect(await i.exited).toBe(0);
    expect([survivor, replacement].filter(alive)).toEqual([]);
  }, 120_000);
});
