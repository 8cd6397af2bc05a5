import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { sleep } from './clock.js';
import { benchKafkaClient } from './kafka-admin.js';
import { RUN_TAG } from './namespace.js';

/** The local stack (ops/stack) and the system under test's processes, as the bench starts them. */
export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
/** `s3`: the stack's SeaweedFS, the media scenario's object store (when it runs). */
const STACK_SERVICES = ['kafka', 'registry', 'mongo', 'redis', 's3'] as const;

export function stackRunDir(): string {
  return process.env.IM_STACK_RUN ?? join(process.env.IM_STACK_CACHE ?? join(homedir(), '.cache/im-stack'), 'run');
}

/** Pids of the stack's services from their pid files (missing ones left out). */
export function stackPids(): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of STACK_SERVICES) {
    try {
      const pid = Number(readFileSync(join(stackRunDir(), `${s}.pid`), 'utf8').trim());
      if (pid > 0 && existsSync(`/proc/${pid}`)) out.set(s, pid);
    } catch {
      /* not running */
    }
  }
  return out;
}

/** Starts the stack if needed and provisions topics and schemas (both idempotent). */
export function ensureStack(log: (s: string) => void): void {
  for (const [what, cmd, args] of [
    ['stack', 'bash', ['ops/stack/up.sh']],
    ['provision', process.execPath, ['--import', 'tsx', 'ops/bin/provision.ts']],
  ] as const) {
    const t0 = Date.now();
    const r = spawnSync(cmd, [...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, IM_LOG_LEVEL: 'warn' } });
    if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    log(`${what} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

/** A port the bench needs is held by another process: said in one line, no stack. */
export class PortsTaken extends Error {
  override name = 'PortsTaken';
}

/** True when nothing listens on host:port (checked with an exclusive listen, closed at once). */
export async function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * Refuses to start when one of the SUT's ports is taken: another process there would take
 * connections meant for the SUT (uWS shares ports through SO_REUSEPORT) or answer its probes.
 */
export async function assertPortsFree(ports: readonly { port: number; what: string; host?: string }[]): Promise<void> {
  const taken: string[] = [];
  for (const p of ports) if (!(await portFree(p.host ?? '0.0.0.0', p.port))) taken.push(`${p.port} (${p.what})`);
  if (taken.length) throw new PortsTaken(`port${taken.length > 1 ? 's' : ''} ${taken.join(', ')} already in use by another process: stop it, or move the bench with --edge-port / --peer-port`);
}

export interface SutOptions {
  edgePort: number;
  metricsPort: number;
  /** Extra env for every SUT process (overrides). */
  env: Record<string, string>;
}

/** The settings the bench starts the system under test with; recorded in each result. */
export function sutEnv(o: SutOptions, privateKeyPem: string): Record<string, string> {
  return {
    IM_ENGINE: 'kafka',
    IM_KAFKA_BROKERS: process.env.IM_KAFKA_BROKERS ?? '127.0.0.1:9092',
    // The platform's Kafka client (the baseline's pipeline/bare ratio is measured on the same one).
    IM_KAFKA_CLIENT: benchKafkaClient(),
    IM_SCHEMA_REGISTRY_URL: process.env.IM_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
    IM_REDIS_URL: process.env.IM_REDIS_URL ?? 'redis://127.0.0.1:6379',
    IM_MONGO_URL: process.env.IM_MONGO_URL ?? 'mongodb://127.0.0.1:27017',
    IM_LOG_LEVEL: process.env.BENCH_SUT_LOG_LEVEL ?? 'warn',
    IM_GATEWAY_ID: `bench-gw-${RUN_TAG}`,
    IM_EDGE_HOST: '127.0.0.1',
    IM_EDGE_PORT: String(o.edgePort),
    IM_METRICS_PORT: String(o.metricsPort),
    IM_AUTH_ISSUER: AUTH.issuer,
    IM_AUTH_AUDIENCE: AUTH.audience,
    IM_AUTH_PRIVATE_KEY_PEM: privateKeyPem,
    // Bench users are minted, not befriended: direct messages must not need friendship.
    IM_REQUIRE_FRIENDSHIP: 'false',
    IM_MAX_GROUP_MEMBERS: '20000',
    // The stamper's stores reach their bound within the soak's warm-up, so its memory slopes
    // judge what is left after them; their bound holds at any size (streams/table.test.ts).
    IM_DEDUP_MAX_ENTRIES: '5000',
    IM_MESSAGE_INDEX_MAX_ENTRIES: '5000',
    ...o.env,
  };
}

export const AUTH = { issuer: 'im-bench', audience: 'im-clients' } as const;

export function generatePrivateKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** The highest descriptor count a process may raise itself to (the hard RLIMIT_NOFILE). */
export function hardFileLimit(): number {
  const r = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const v = r.stdout.trim();
  return v === 'unlimited' ? 1 << 20 : Number(v) || 1024;
}

/**
 * A node process of the platform (or any command), started with its file limit raised to the
 * hard limit. Its whole output goes to `logFile` when given (appended: a restarted process adds
 * to the same file); `output` is the last 4000 characters.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  private tail = '';
  constructor(readonly name: string, command: string, args: string[], env: Record<string, string>, logFile?: string) {
    const quoted = [command, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    this.child = spawn('bash', ['-c', `ulimit -n "$(ulimit -Hn)"; exec ${quoted}`], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const file = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
    this.child.once('close', () => file?.end()); // after the last of its output
    const keep = (d: Buffer): void => {
      this.tail = (this.tail + d.toString()).slice(-4000);
      file?.write(d);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get output(): string {
    return this.tail;
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(timeoutMs)]);
    if (this.alive) this.child.kill('SIGKILL');
  }
}

/** With IM_BENCH_LOG_PREFIX set, the process's whole output is kept in `<prefix>-log-<name>.txt`. */
export function nodeProcess(name: string, file: string, env: Record<string, string>): ManagedProcess {
  const dir = process.env.IM_BENCH_PROFILE_DIR;
  // A directory per process: tsx's loader thread writes a profile of its own beside the main one.
  const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`] : [];
  const logPrefix = process.env.IM_BENCH_LOG_PREFIX;
  return new ManagedProcess(name, process.execPath, [...profile, '--import', 'tsx', file], env, logPrefix ? `${logPrefix}-log-${name}.txt` : undefined);
}

/** Polls an HTTP URL until it answers 2xx. */
export async function waitHttp(url: string, timeoutMs: number, proc?: ManagedProcess): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc && !proc.alive) throw new Error(`${proc.name} exited: ${proc.output}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      /* not yet */
    }
    await sleep(250);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms${proc ? `: ${proc.output}` : ''}`);
}

/**
 * Until a gateway instance's /metrics shows all its workers (the primary aggregates only the
 * workers that listen): /readyz is answered by the first worker up.
 */
export async function waitGatewayWorkers(metricsUrl: string, workers: number, timeoutMs: number, proc?: ManagedProcess): Promise<void> {
  const until = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < until) {
    if (proc && !proc.alive) throw new Error(`${proc.name} exited: ${proc.output}`);
    try {
      const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
      seen = new Set([...text.matchAll(/^process_resident_memory_bytes\{[^}]*worker="(\d+)"/gm)].map((m) => m[1])).size;
      if (seen >= workers || (workers === 1 && text.includes('process_resident_memory_bytes'))) return;
    } catch {
      /* not yet */
    }
    await sleep(500);
  }
  throw new Error(`${metricsUrl}: ${seen} of ${workers} gateway workers up after ${timeoutMs} ms`);
}

export function sutEntryPoints(): { gateway: string; processors: string } | null {
  const gateway = join(ROOT, 'ops/bin/gateway.ts');
  const processors = join(ROOT, 'ops/bin/processors.ts');
  return existsSync(gateway) && existsSync(processors) ? { gateway, processors } : null;
}
