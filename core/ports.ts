import { createServer } from 'node:net';
import { PlatformError, PortInUseError } from './errors.js';

/**
 * Why a listen on host:port failed, for listeners that do not say (uWebSockets.js hands back
 * only `false`): a plain Node listen on the same address reports the errno. `setting` is the
 * configuration variable that chose the port, named in the error.
 */
export async function listenFailure(setting: string, host: string, port: number): Promise<PlatformError> {
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const probe = createServer();
    probe.once('error', resolve);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(null)));
  });
  return listenError(setting, host, port, err);
}

/** The platform's error for a failed listen: PORT_IN_USE for EADDRINUSE, LISTEN_FAILED otherwise. */
export function listenError(setting: string, host: string, port: number, err: NodeJS.ErrnoException | null): PlatformError {
  if (err?.code === 'EADDRINUSE') return new PortInUseError(setting, `${host}:${port}`);
  return new PlatformError('LISTEN_FAILED', `cannot listen on ${host}:${port} (${setting})${err ? `: ${err.code ?? err.message}` : ''}`, { cause: err ?? undefined });
}
