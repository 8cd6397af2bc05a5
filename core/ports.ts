import { createServer } from 'node:net';
import { PlatformError, PortInUseError } from './errors.js';

/**
 * Why a listen on host:port failed, for listeners that do not say (uWebSockets.js hands back
 * only `false`): a plain Node listen on the same address reports the errno. `setting` is the
 * configuration variable that chose the port, named in the error.
 */
export async function listenFailure(setting: string, host: string, port: number): Promise<PlatformError> {
  return listenError(setting, host, port, await tryListen(host, port));
}

/**
 * Null when host:port is free (an exclusive listen, closed at once); else PORT_IN_USE or
 * LISTEN_FAILED naming `setting`. A gateway instance checks its port with it before forking
 * workers that share the port among themselves.
 */
export async function probePort(setting: string, host: string, port: number): Promise<PlatformError | null> {
  const err = await tryListen(host, port);
  return err ? listenError(setting, host, port, err) : null;
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', resolve);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(null)));
  });
}

/** The platform's error for a failed listen: PORT_IN_USE for EADDRINUSE, LISTEN_FAILED otherwise. */
export function listenError(setting: string, host: string, port: number, err: NodeJS.ErrnoException | null): PlatformError {
  if (err?.code === 'EADDRINUSE') return new PortInUseError(setting, `${host}:${port}`);
  return new PlatformError('LISTEN_FAILED', `cannot listen on ${host}:${port} (${setting})${err ? `: ${err.code ?? err.message}` : ''}`, { cause: err ?? undefined });
}
