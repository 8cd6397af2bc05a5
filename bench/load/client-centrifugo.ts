import { openSocket, readiness, type BenchClient, type ClientOptions } from './client.js';

interface Reply {
  id?: number;
  error?: { code: number; message: string };
  connect?: unknown;
  subscribe?: unknown;
  publish?: unknown;
  push?: { channel?: string; pub?: { data?: { c?: string } } };
}

const CONNECT_ID = 1;
const SUBSCRIBE_ID = 2;

/**
 * Centrifugo's JSON client protocol (v5): `connect` with the token, `subscribe` to the channel,
 * `publish` for sends (acked by the reply with the same id), publications as pushes. Replies
 * may come several to a frame, newline-separated; an empty object is a ping, answered likewise.
 */
export function centrifugoClient(o: ClientOptions): BenchClient {
  const ws = openSocket(o.url, o.localAddress, o.timeoutMs);
  const r = readiness(o.timeoutMs);
  let open = false;
  let nextId = SUBSCRIBE_ID + 1;
  const pending = new Map<number, string>();
  ws.on('open', () => ws.send(JSON.stringify({ id: CONNECT_ID, connect: { token: o.token, name: 'bench' } })));
  ws.on('error', (err) => r.fail((err as NodeJS.ErrnoException).code ?? err.message));
  ws.on('unexpected-response', (_req, res) => r.fail(`HTTP_${res.statusCode ?? 0}`));
  ws.on('close', (code) => {
    if (!open) r.fail(`CLOSE_${code}`);
    open = false;
    o.hooks.onClose(code);
  });
  const ready = (): void => {
    open = true;
    r.ok();
  };
  ws.on('message', (data) => {
    for (const line of data.toString().split('\n')) {
      if (!line) continue;
      let m: Reply;
      try {
        m = JSON.parse(line) as Reply;
      } catch {
        o.hooks.onError('BAD_JSON');
        continue;
      }
      if (m.id === undefined && !m.push) {
        ws.send('{}'); // ping -> pong
        o.hooks.onHeartbeatAnswer();
      } else if (m.push) {
        const c = m.push.pub?.data?.c;
        if (typeof c === 'string') o.hooks.onDelivery(c);
      } else if (m.error) {
        const key = pending.get(m.id!);
        pending.delete(m.id!);
        if (m.id === CONNECT_ID || m.id === SUBSCRIBE_ID) r.fail(`CENTRIFUGO_${m.error.code}`);
        o.hooks.onError(`CENTRIFUGO_${m.error.code}`, key);
      } else if (m.id === CONNECT_ID) {
        if (o.channel) ws.send(JSON.stringify({ id: SUBSCRIBE_ID, subscribe: { channel: o.channel } }));
        else ready();
      } else if (m.id === SUBSCRIBE_ID) {
        ready();
      } else {
        const key = pending.get(m.id!);
        pending.delete(m.id!);
        if (key) o.hooks.onAck(key);
      }
    }
  });
  return {
    ready: r.ready,
    send(target, _kind, content, key) {
      if (!open) return o.hooks.onError('NOT_OPEN', key);
      const id = nextId++;
      pending.set(id, key);
      ws.send(JSON.stringify({ id, publish: { channel: target, data: { c: content } } }));
    },
    heartbeat() {
      // Centrifugo drives pings itself; the client only answers them.
    },
    close() {
      open = false;
      ws.terminate();
    },
  };
}
