import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { sampleSum } from '../core/prometheus-text.js';

/**
 * Platform processes as a deployment runs them (`ops/bin/processors.ts` per processor,
 * `ops/bin/gateway.ts`), each its own process group so a SIGKILL takes all of it at once.
 */
const ROOT = new URL('..', import.meta.url).pathname;

export interface PlatformProcess {
  readonly name: string;
  /** The URL answering 200 on /readyz once the process serves. */
  readonly readyUrl: string;
  readonly metricsUrl: string;
  readonly logFile: string;
  pid(): number | undefined;
  start(): void;
  /** SIGKILL to the whole process group; resolves once it has exited. */
  kill(): Promise<void>;
  /** Polls /readyz; fails after `timeoutMs` or if the process exits first. */
  waitReady(timeoutMs: number): Promise<void>;
}

export function platformProcess(options: { name: string; script: 'processors' | 'gateway'; env: Record<string, string>; readyPort: number; logDir: string }): PlatformProcess {
  const { name, script, env, readyPort, logDir } = options;
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const readyUrl = `http://127.0.0.1:${readyPort}/readyz`;
  return {
    name,
    readyUrl,
    metricsUrl: `http://127.0.0.1:${readyPort}/metrics`,
    logFile,
    pid: () => child?.pid,
    start() {
      log.write(`---- start ${new Date().toISOString()}\n`);
      const c = spawn(process.execPath, ['--import', 'tsx', `ops/bin/${script}.ts`], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        detached: true, // own process group
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      c.stdout?.pipe(log, { end: false });
      c.stderr?.pipe(log, { end: false });
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      child = c;
    },
    async kill() {
      const c = child;
      if (!c?.pid || c.exitCode !== null || c.signalCode !== null) return;
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
      log.write(`---- killed ${new Date().toISOString()}\n`);
    },
    async waitReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`${name} exited before ready (see ${logFile})`);
        const ok = await fetch(readyUrl, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`${name} not ready within ${timeoutMs} ms (see ${logFile})`);
        await sleep(150);
      }
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function tcpReachable(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, host, () => done(true));
  });
}

/** Throws, naming what is missing, unless Kafka, the registry, Redis and MongoDB all answer. */
export async function requireStack(urls: { kafka: string; registry: string; redis: string; mongo: string }): Promise<void> {
  const problems: string[] = [];
  const [kHost = '127.0.0.1', kPort = '9092'] = urls.kafka.split(':');
  if (!(await tcpReachable(kHost, Number(kPort)))) problems.push(`kafka at ${urls.kafka}`);
  const redis = new URL(urls.redis);
  if (!(await tcpReachable(redis.hostname, Number(redis.port || 6379)))) problems.push(`redis at ${urls.redis}`);
  const registryOk = await fetch(`${urls.registry}/subjects`, { signal: AbortSignal.timeout(3_000) }).then((r) => r.ok, () => false);
  if (!registryOk) problems.push(`schema registry at ${urls.registry}`);
  const mongo = new MongoClient(urls.mongo, { serverSelectionTimeoutMS: 3_000 });
  try {
    await mongo.db('admin').command({ ping: 1 });
  } catch {
    problems.push(`mongodb at ${urls.mongo}`);
  } finally {
    await mongo.close().catch(() => {});
  }
  if (problems.length) throw new Error(`chaos test needs the real stack (make up); not reachable: ${problems.join(', ')}`);
}

/** One counter's value (summed over label sets matching `labels`; 0 when absent) from a process's metrics page. */
export async function scrapeCounter(metricsUrl: string, metric: string, labels: Record<string, string> = {}): Promise<number | null> {
  const text = await fetch(metricsUrl, { signal: AbortSignal.timeout(3_000) }).then((r) => r.text(), () => null);
  return text === null ? null : (sampleSum(text, metric, labels) ?? 0);
}
