import { createRequire } from 'node:module';
import type * as UWS from 'uWebSockets.js';
import { PlatformError } from '../../core/errors.js';

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

export type { HttpRequest as UwsRequest, HttpResponse as UwsResponse, TemplatedApp, WebSocket, us_listen_socket, us_socket_context_t } from 'uWebSockets.js';
