import WebSocket from 'ws';

/** What a protocol adapter reports to the worker. */
export interface ClientHooks {
  /** The server acknowledged the send with this key (IM: client msg_id; Centrifugo: command id). */
  onAck(key: string): void;
  /** A message reached this client; its content as sent. */
  onDelivery(content: string): void;
  onError(code: string, key?: string): void;
  onHeartbeatAnswer(): void;
  onClose(code: number): void;
}

/** One load-generator connection speaking the IM or the Centrifugo client protocol. */
export interface BenchClient {
  /** Resolves once the connection is authenticated and usable. */
  readonly ready: Promise<void>;
  send(target: string, kind: 'user' | 'group', content: string, key: string): void;
  heartbeat(): void;
  close(): void;
}

export interface ClientOptions {
  url: string;
  token: string;
  localAddress: string;
  hooks: ClientHooks;
  /** Centrifugo only: channel to subscribe after connecting. */
  channel?: string;
  timeoutMs: number;
}

export function openSocket(url: string, localAddress: string, timeoutMs: number): WebSocket {
  return new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: timeoutMs, maxPayload: 1 << 20 });
}

/** Settles `ready` on the first of: ok(), fail(reason), or the timeout. */
export function readiness(timeoutMs: number): { ready: Promise<void>; ok: () => void; fail: (reason: string) => void } {
  let ok!: () => void;
  let fail!: (reason: string) => void;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('TIMEOUT')), timeoutMs);
    ok = () => {
      clearTimeout(timer);
      resolve();
    };
    fail = (reason) => {
      clearTimeout(timer);
      reject(new Error(reason));
    };
  });
  ready.catch(() => undefined);
  return { ready, ok, fail };
}
