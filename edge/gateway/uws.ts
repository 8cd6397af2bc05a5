import { createRequire } from 'node:module';
import type * as UWS from 'uWebSockets.js';
import { PlatformError } from '../../core/errors.js';
import { listenFailure } from '../../core/ports.js';

/**
 * Loads uWebSockets.js and refuses to run on its pure-JS fallback: the package silently falls
 * back to a Node implementation when the native binary does not match this Node ABI, and the
 * gateway's per-connection memory and throughput targets only hold for the native build.
 */
const require = createRequire(import.meta.url);

export function loadNativeUws(): typeof UWS {
  if (/^(1|true)$/i.test(process.env.UWS_USE_FALLBACK ?? ''))
    throw new PlatformError('UWS_NOT_NATIVE', 'UWS_USE_FALLBACK is set; the gateway needs the native uWebSockets.js binding');
  const uws = require('uWebSockets.js') as typeof UWS;
  const nativeLoaded = Object.keys(require.cache).some((path) => /uWebSockets\.js[/\\].*uws_[^/\\]+\.node$/.test(path));
  if (!nativeLoaded)
    throw new PlatformError(
      'UWS_NOT_NATIVE',
      `uWebSockets.js has no native binary for ${process.platform}-${process.arch} ABI ${process.versions.modules}; refusing the JS fallback`,
    );
  return uws;
}

/**
 * uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT. The default listen sets SO_REUSEPORT, so a second
 * process on the same port would silently take a share of the connections; exclusive, the
 * second listen fails. (The typings declare the option only for listen(port, options, cb), but
 * the binding takes it as the third argument of listen(host, port, options, cb) as well.)
 */
export const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;
/** uSockets' default listen: SO_REUSEPORT, so the workers of one gateway instance share a port. */
export const LIBUS_LISTEN_DEFAULT = 0;

type ListenHostOptions = (host: string, port: number, options: number, cb: (socket: UWS.us_listen_socket | false) => void) => unknown;

/**
 * Listens on host:port alone; a port already held is a PortInUseError naming IM_EDGE_PORT
 * (PORT_IN_USE), any other failure LISTEN_FAILED.
 */
export function listenExclusive(app: UWS.TemplatedApp, host: string, port: number): Promise<UWS.us_listen_socket> {
  return listenWith(app, host, port, LIBUS_LISTEN_EXCLUSIVE_PORT);
}

/**
 * Listens on host:port beside the other workers of the same instance (SO_REUSEPORT; the kernel
 * spreads connections over them). Only for an instance's workers: the primary has made sure
 * no other process holds the port (edge/gateway/instance.ts), which this listen cannot tell.
 */
export function listenShared(app: UWS.TemplatedApp, host: string, port: number): Promise<UWS.us_listen_socket> {
  return listenWith(app, host, port, LIBUS_LISTEN_DEFAULT);
}

async function listenWith(app: UWS.TemplatedApp, host: string, port: number, options: number): Promise<UWS.us_listen_socket> {
  const listen = app.listen.bind(app) as unknown as ListenHostOptions;
  const socket = await new Promise<UWS.us_listen_socket | false>((resolve) => listen(host, port, options, resolve));
  if (socket) return socket;
  throw await listenFailure('IM_EDGE_PORT', host, port);
}

export type { HttpRequest as UwsRequest, HttpResponse as UwsResponse, TemplatedApp, WebSocket, us_listen_socket, us_socket_context_t } from 'uWebSockets.js';
