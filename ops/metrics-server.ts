import { createServer, type Server } from 'node:http';
import { registry } from '../core/metrics.js';
import { listenError } from '../core/ports.js';

/**
 * /metrics, /healthz and /readyz for processes without the gateway's HTTP server (the
 * pipeline processes). `ready()` decides readiness (e.g. tables restored, groups joined).
 * Node listens exclusively; a port already held is a PortInUseError naming `setting`.
 */
export async function startMetricsServer(port: number, readiness: () => { ready: boolean; failing?: string[] }, setting = 'IM_METRICS_PORT'): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/readyz') {
      const r = readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: r.ready ? 'ready' : 'not ready', failing: r.failing ?? [] }));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error_code":"NOT_FOUND","error_message":"No such resource"}');
    }
  });
  const host = '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(setting, host, port, err)));
    server.listen({ host, port, exclusive: true }, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
