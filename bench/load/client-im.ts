import { openSocket, readiness, type BenchClient, type ClientOptions } from './client.js';

interface InFrame {
  type?: string;
  msg_id?: string;
  conversation_id?: string;
  sequence_number?: number;
  content?: string;
  error_code?: string;
}

const HEARTBEAT = JSON.stringify({ type: 'heartbeat' });
/**
 * How long a client holds its delivery acks before sending them, one per conversation up to its
 * highest seq (docs/protocol.md: a coalesced ack): a burst into a group is a frame per member,
 * not one per member and message. Far inside the gateway's 5 s ack deadline.
 */
const ACK_HOLD_MS = 250;

/**
 * The platform's client protocol (protocol/frames.ts): token in the query, `send_msg` out,
 * `ack` for our sends, `message` deliveries acked back (coalesced per conversation, as a client
 * SDK does), `heartbeat` answered.
 * The gateway upgrades refused clients and closes them with an error frame, so the connection
 * counts as ready only after a short quiet period without such an error.
 */
export function imClient(o: ClientOptions): BenchClient {
  const ws = openSocket(`${o.url}?token=${encodeURIComponent(o.token)}`, o.localAddress, o.timeoutMs);
  const r = readiness(o.timeoutMs);
  let open = false;
  /** Highest seq received per conversation since the last acks went out. */
  const unacked = new Map<string, number>();
  let ackTimer: NodeJS.Timeout | null = null;
  const sendAcks = (): void => {
    ackTimer = null;
    if (open) for (const [conversation, seq] of unacked) ws.send(`{"type":"ack","conversation_id":${JSON.stringify(conversation)},"seq":${seq}}`);
    unacked.clear();
  };
  const ackLater = (f: InFrame): void => {
    if (!f.conversation_id || !f.sequence_number) {
      if (f.msg_id) ws.send(`{"type":"ack","msg_id":${JSON.stringify(f.msg_id)}}`);
      return;
    }
    unacked.set(f.conversation_id, Math.max(unacked.get(f.conversation_id) ?? 0, f.sequence_number));
    ackTimer ??= setTimeout(sendAcks, ACK_HOLD_MS);
  };
  ws.on('open', () => {
    open = true;
    r.ok();
  });
  ws.on('error', (err) => r.fail((err as NodeJS.ErrnoException).code ?? err.message));
  ws.on('unexpected-response', (_req, res) => r.fail(`HTTP_${res.statusCode ?? 0}`));
  ws.on('close', (code) => {
    if (!open) r.fail(`CLOSE_${code}`);
    open = false;
    o.hooks.onClose(code);
  });
  ws.on('message', (data) => {
    let f: InFrame;
    try {
      f = JSON.parse(data.toString()) as InFrame;
    } catch {
      return o.hooks.onError('BAD_JSON');
    }
    switch (f.type) {
      case 'ack':
        if (f.msg_id) o.hooks.onAck(f.msg_id);
        break;
      case 'message':
        if (f.msg_id) ackLater(f);
        if (typeof f.content === 'string') o.hooks.onDelivery(f.content);
        break;
      case 'heartbeat':
        o.hooks.onHeartbeatAnswer();
        break;
      case 'error':
        o.hooks.onError(f.error_code ?? 'UNKNOWN', f.msg_id);
        break;
    }
  });
  return {
    ready: r.ready,
    send(target, kind, content, key) {
      if (!open) return o.hooks.onError('NOT_OPEN', key);
      ws.send(JSON.stringify({ type: 'send_msg', msg_id: key, recipient: target, recipient_type: kind, content, timestamp: Date.now() }));
    },
    heartbeat() {
      if (open) ws.send(HEARTBEAT);
    },
    close() {
      open = false;
      if (ackTimer) clearTimeout(ackTimer);
      ws.terminate();
    },
  };
}
