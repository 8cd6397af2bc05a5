import http2, { type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';
import { PlatformError } from '../../core/errors.js';

export interface H2Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface H2ClientOptions {
  /** `https://host[:port]` (TLS, as the vendors require) or `http://...` (h2c, local tests). */
  origin: string;
  /** Extra TLS options, e.g. `ca` for a test server's self-signed certificate. */
  tls?: SecureClientSessionOptions;
  requestTimeoutMs: number;
}

/**
 * One long-lived HTTP/2 session to a vendor, reopened after it closes, errs or receives
 * GOAWAY (APNs asks for connection reuse; a new TLS handshake per push is refused as abuse).
 * Network failures and timeouts are retriable errors.
 */
export class H2Client {
  private session: ClientHttp2Session | undefined;

  constructor(private readonly options: H2ClientOptions) {}

  private connect(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(this.options.origin, this.options.tls ?? {});
    const drop = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on('error', drop);
    session.on('close', drop);
    session.on('goaway', drop);
    session.unref();
    this.session = session;
    return session;
  }

  request(method: string, path: string, headers: Record<string, string>, body?: string): Promise<H2Response> {
    return new Promise<H2Response>((resolve, reject) => {
      const fail = (err: unknown) => reject(new PlatformError('PUSH_NETWORK', `HTTP/2 ${method} ${this.options.origin}${path} failed: ${(err as Error).message}`, { retriable: true, cause: err }));
      let req: http2.ClientHttp2Stream;
      try {
        req = this.connect().request({ ':method': method, ':path': path, ...headers });
      } catch (err) {
        fail(err);
        return;
      }
      req.setTimeout(this.options.requestTimeoutMs, () => req.close(http2.constants.NGHTTP2_CANCEL));
      let status = 0;
      let responseHeaders: H2Response['headers'] = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => {
        status = Number(h[':status']);
        responseHeaders = h as H2Response['headers'];
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => (status > 0 ? resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks).toString('utf8') }) : fail(new Error('stream ended without a response'))));
      req.on('error', fail);
      req.on('close', () => {
        if (status === 0) fail(new Error(`stream closed (code ${req.rstCode})`));
      });
      req.end(body);
    });
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s && !s.closed) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
