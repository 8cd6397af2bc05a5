import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test support (not a test itself): a local HTTP/2 TLS server with a self-signed certificate
 * made at test time, standing in for APNs, FCM and Google's OAuth endpoint.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

export interface ReplyFn {
  (req: RecordedRequest): { status: number; body?: unknown; headers?: Record<string, string> } | Promise<{ status: number; body?: unknown; headers?: Record<string, string> }>;
}

export interface TestH2Server {
  origin: string;
  /** The certificate to trust (pass as `tls: { ca }`). */
  ca: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

let certCache: { key: string; cert: string } | undefined;

function selfSigned(): { key: string; cert: string } {
  if (certCache) return certCache;
  const dir = mkdtempSync(join(tmpdir(), 'im-h2-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
    certCache = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    return certCache;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startH2Server(reply: ReplyFn): Promise<TestH2Server> {
  const { key, cert } = selfSigned();
  const server = http2.createSecureServer({ key, cert, allowHTTP1: false });
  const requests: RecordedRequest[] = [];
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', async () => {
      const req: RecordedRequest = { method: String(headers[':method']), path: String(headers[':path']), headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(req);
      const res = await reply(req);
      stream.respond({ ':status': res.status, 'content-type': 'application/json', ...(res.headers ?? {}) });
      stream.end(res.body === undefined ? '' : JSON.stringify(res.body));
    });
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => (sessions.add(s), s.on('close', () => sessions.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    ca: cert,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const s of sessions) s.destroy();
      server.close(() => resolve());
    }),
  };
}
