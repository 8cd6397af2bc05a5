import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, verifySignature } from './signature.js';

/**
 * Test support (not a test itself): a real webhook receiver on a free local port (node:http),
 * which verifies every call's signature the way docs/protocol.md tells receivers to, records
 * it, and answers as the test says: at once, late, never, or with an error status.
 */
export interface ReceivedCall {
  path: string;
  event: string | undefined;
  eventId: string | undefined;
  signature: string | undefined;
  body: string;
  json: Record<string, unknown>;
  /** Whether the signature verified with the receiver's secret at the time of the call. */
  verified: boolean;
}

/** An answer: a status and JSON body, optionally after `delayMs`; `hang` never answers. */
export type ReceiverReply = { status: number; body?: unknown; delayMs?: number } | 'hang';

export interface WebhookReceiver {
  url(path?: string): string;
  readonly calls: ReceivedCall[];
  /** Calls to `path`, in arrival order. */
  callsTo(path: string): ReceivedCall[];
  /** The secret the receiver verifies with (a receiver rotates by changing it). */
  secret: string;
  reply: (call: ReceivedCall) => ReceiverReply | Promise<ReceiverReply>;
  /** Resolves once `n` calls have arrived in all (an event, not a poll); rejects after `timeoutMs`. */
  waitForCalls(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: { secret: string; reply?: WebhookReceiver['reply'] }): Promise<WebhookReceiver> {
  const calls: ReceivedCall[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => void handle(req, res));

  const receiver: WebhookReceiver = {
    url: (path = '/hook') => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    calls,
    callsTo: (path) => calls.filter((c) => c.path === path),
    secret: options.secret,
    reply: options.reply ?? (() => ({ status: 200, body: { action: 'allow' } })),
    waitForCalls(n, timeoutMs = 20_000) {
      if (calls.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`webhook receiver: ${calls.length} calls, waited for ${n}`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
    const signature = header(SIGNATURE_HEADER);
    const call: ReceivedCall = {
      path: req.url ?? '/',
      event: header(EVENT_HEADER),
      eventId: header(EVENT_ID_HEADER),
      signature,
      body,
      json: JSON.parse(body) as Record<string, unknown>,
      verified: verifySignature(signature, body, receiver.secret, { now: Date.now() }).ok,
    };
    calls.push(call);
    for (const w of [...waiters]) if (calls.length >= w.n) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
    const reply = await receiver.reply(call);
    if (reply === 'hang') return;
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    };
    if (!reply.delayMs) return send();
    const timer = setTimeout(() => (timers.delete(timer), send()), reply.delayMs);
    timers.add(timer);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
  });
  return receiver;
}
