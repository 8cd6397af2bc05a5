import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, stackPids, stackRunDir } from '../sut.js';

/**
 * The faults scenario's hands on the stack: signals to a service's process (by the pid file
 * ops/stack/up.sh wrote under IM_STACK_RUN) and a restart through up.sh, with the same
 * environment, so a private stack (its own IM_STACK_RUN and ports) is the one faulted.
 */
export type StackService = 'kafka' | 'redis' | 'mongo';

/** The port the SUT reaches each service on, from the settings it was started with. */
function sutPort(service: StackService, env: Record<string, string>): string {
  const url = service === 'kafka' ? `kafka://${(env.IM_KAFKA_BROKERS ?? '').split(',')[0]}` : service === 'redis' ? env.IM_REDIS_URL : env.IM_MONGO_URL;
  return new URL(url ?? '').port;
}

/** How a service's process shows the port it listens on (its command line, or Kafka's config). */
function listensOn(service: StackService, pid: number): string {
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  // Redis rewrites its title to `redis-server host:port`.
  if (service === 'redis') return /redis-server \S+:(\d+)/.exec(cmdline)?.[1] ?? '';
  if (service === 'mongo') return /--listen-addr=[^:]+:(\d+)/.exec(cmdline)?.[1] ?? '';
  const props = readFileSync(join(stackRunDir(), 'kafka', 'server.properties'), 'utf8');
  return /^listeners=PLAINTEXT:\/\/[^:]+:(\d+)/m.exec(props)?.[1] ?? '';
}

/**
 * Refuses to fault a stack the SUT does not use: the pid files under IM_STACK_RUN must name
 * the processes listening where the SUT's settings point (another stack on this machine, e.g.
 * one shared with other runs, is never signalled by mistake).
 */
export function assertFaultableStack(env: Record<string, string>): void {
  const pids = stackPids();
  for (const s of ['kafka', 'redis', 'mongo'] as const) {
    const pid = pids.get(s);
    if (!pid) throw new Error(`no running ${s} under ${stackRunDir()} (IM_STACK_RUN): the faults scenario signals the stack's processes by their pid files`);
    const port = listensOn(s, pid);
    if (port !== sutPort(s, env)) throw new Error(`${s} under ${stackRunDir()} listens on ${port}, the SUT uses port ${sutPort(s, env)}: set IM_STACK_RUN and the SUT's addresses to one stack`);
  }
}

export function servicePid(service: StackService): number {
  const pid = stackPids().get(service);
  if (!pid) throw new Error(`${service} is not running under ${stackRunDir()}`);
  return pid;
}

export function signalService(service: StackService, signal: NodeJS.Signals): number {
  const pid = servicePid(service);
  process.kill(pid, signal);
  return pid;
}

/** Waits for the process to be gone (after a SIGKILL the kernel still has to reap it). */
export async function gone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `ops/stack/up.sh <service>`: starts it (it is down) and returns once it is healthy. */
export async function startService(service: StackService): Promise<void> {
  const child = spawn('bash', [join(ROOT, 'ops/stack/up.sh'), service], { cwd: ROOT, env: process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`up.sh ${service} failed (${code}): ${err}`);
}
