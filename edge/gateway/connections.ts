import { TokenBucket } from '../../core/token-bucket.js';
import type { PresenceEntry } from '../presence/presence.js';
import { CloseCodes, type ErrorCode } from '../../protocol/codes.js';
import { errorFrame } from '../../protocol/server-frames.js';
import { gatewayMetrics as m } from './metrics.js';
import type { WebSocket } from './uws.js';

export type CloseName = keyof typeof CloseCodes;

/**
 * The per-connection state uWS keeps for us (its user data). Deliberately flat and small (a
 * few strings and numbers, no closures) since 100K of them live in one gateway.
 */
export interface ConnData {
  id: string;
  userId: string;
  deviceId: string;
  /** Token expiry, epoch ms; the sweep closes the connection with TOKEN_EXPIRED past it. */
  expiresAt: number;
  /** Last frame or pong from the client, epoch ms. */
  lastSeen: number;
  /** When the upgrade was accepted, epoch ms; part of the connection's presence entry. */
  connectedAt: number;
  /** Set when the upgrade was refused: the socket only carries the reason, then closes. */
  refused: CloseName | null;
  closed: boolean;
  /**
   * While the token is being verified (the socket is already upgraded): the client's frames,
   * copied, handled in order once it is admitted. Null otherwise.
   */
  pending: ArrayBuffer[] | null;
}

export type Conn = WebSocket<ConnData>;

/** A user's connections on this gateway and the token bucket they share. */
interface UserSlot {
  conns: Conn[];
  bucket: TokenBucket;
}

/** Every open connection of this gateway, by id and by user. */
export class Connections {
  private readonly byId = new Map<string, Conn>();
  private readonly byUser = new Map<string, UserSlot>();

  constructor(private readonly ratePerSec: number) {}

  get size(): number {
    return this.byId.size;
  }

  add(ws: Conn): void {
    const d = ws.getUserData();
    this.byId.set(d.id, ws);
    const slot = this.byUser.get(d.userId);
    if (slot) slot.conns.push(ws);
    else this.byUser.set(d.userId, { conns: [ws], bucket: new TokenBucket({ ratePerSec: this.ratePerSec, burst: this.ratePerSec }) });
  }

  remove(ws: Conn): void {
    const d = ws.getUserData();
    if (this.byId.get(d.id) !== ws) return;
    this.byId.delete(d.id);
    const slot = this.byUser.get(d.userId);
    if (!slot) return;
    slot.conns = slot.conns.filter((c) => c !== ws);
    if (slot.conns.length === 0) this.byUser.delete(d.userId);
  }

  get(connectionId: string): Conn | undefined {
    return this.byId.get(connectionId);
  }

  /** The connection, if it exists here and belongs to `userId` ([] otherwise). */
  ownedBy(connectionId: string, userId: string): readonly Conn[] {
    const ws = this.byId.get(connectionId);
    return ws && ws.getUserData().userId === userId ? [ws] : [];
  }

  ofUser(userId: string): readonly Conn[] {
    return this.byUser.get(userId)?.conns ?? [];
  }

  /** The users with a connection here. */
  users(): IterableIterator<string> {
    return this.byUser.keys();
  }

  all(): IterableIterator<Conn> {
    return this.byId.values();
  }

  /** The presence entries of every open connection: what presence is rebuilt from. */
  presenceEntries(gatewayId: string): PresenceEntry[] {
    const out: PresenceEntry[] = [];
    for (const ws of this.byId.values()) out.push(presenceEntry(ws.getUserData(), gatewayId));
    return out;
  }

  /** Token bucket shared by all of the user's devices here: `ratePerSec` tokens, refilled continuously. */
  takeToken(userId: string, now = Date.now()): boolean {
    const slot = this.byUser.get(userId);
    return slot !== undefined && slot.bucket.tryTake(now);
  }
}

export function presenceEntry(d: ConnData, gatewayId: string): PresenceEntry {
  return { userId: d.userId, connectionId: d.id, gatewayId, deviceId: d.deviceId, connectedAt: d.connectedAt };
}

/** What a write did: written, or the connection was closed as a slow consumer (or already gone). */
export type WriteResult = 'ok' | 'slow' | 'closed';

/**
 * Writes one text frame, bounding the connection's buffered bytes: past `bound` the client is
 * too slow and is closed with SLOW_CONSUMER (it syncs after reconnecting, nothing is lost).
 */
export function writeFrame(ws: Conn, text: string, type: string, bound: number): WriteResult {
  const d = ws.getUserData();
  if (d.closed) return 'closed';
  const status = ws.send(text, false);
  // 2 = dropped by uWS's own limit; either way the client cannot keep up.
  if (status === 2 || ws.getBufferedAmount() > bound) {
    closeConn(ws, 'SLOW_CONSUMER');
    return 'slow';
  }
  m.framesOut.inc({ type });
  return 'ok';
}

export function sendError(ws: Conn, code: ErrorCode, bound: number, msgId?: string, message?: string): void {
  m.errorFrames.inc({ code });
  writeFrame(ws, JSON.stringify(errorFrame(code, Date.now(), msgId, message)), 'error', bound);
}

export function closeConn(ws: Conn, name: CloseName): void {
  const d = ws.getUserData();
  if (d.closed) return;
  d.closed = true;
  m.closes.inc({ code: String(CloseCodes[name].code) });
  ws.end(CloseCodes[name].code, CloseCodes[name].reason);
}
