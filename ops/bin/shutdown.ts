import { PlatformError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

/**
 * Runs `stop` once on SIGTERM/SIGINT (or `signals`), then exits; a second signal exits at once. With
 * `followParent`, also when the parent process goes away: `make` passes SIGTERM on to its child
 * but not a SIGINT sent to make alone, and nothing at all when it is killed.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, options: { followParent?: boolean; signals?: NodeJS.Signals[] } = {}): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals | 'parent exited'): void => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info('shutting down', { signal });
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: err });
        process.exit(1);
      },
    );
  };
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) process.on(signal, handler);
  if (options.followParent) {
    const parent = process.ppid;
    const timer = setInterval(() => {
      if (process.ppid !== parent) {
        clearInterval(timer);
        handler('parent exited');
      }
    }, 500);
    timer.unref();
  }
}

/** Errors a user can fix from their message alone: printed as it is, without a stack. */
const EXPECTED = new Set(['PORT_IN_USE', 'CONFIG_INVALID', 'UWS_NOT_NATIVE', 'GATEWAY_WORKER_FAILED']);

/**
 * Runs a process's start-up; if it fails, stops what `cleanup` knows was started and exits 1.
 * An expected error (port in use, bad configuration) is one line on stderr, not a stack trace.
 */
export async function startOrExit<T>(name: string, start: () => Promise<T>, cleanup: () => Promise<void> = async () => undefined): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof PlatformError && EXPECTED.has(err.code)) process.stderr.write(`${name}: ${err.message} [${err.code}]\n`);
    else process.stderr.write(`${name}: start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    // A cleanup stuck on an unreachable service must not keep the process alive.
    await Promise.race([cleanup().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
    process.exit(1);
  }
}
