import WebSocket from 'ws';

/**
 * WebSocket clients that behave as a real app does under failures: they ack every `message`,
 * reconnect with back-off when the gateway goes away, resend unacked sends with the same
 * `msg_id`, and sync a conversation when a gap in its seqs shows (or after a reconnect).
 * Everything they see is recorded for the assertions.
 */
export interface WireFrame {
  type: string;
  [k: string]: unknown;
}

/** Shared clock of the scenario, so clients can tell which phase a fill happened in. */
export interface Phase {
  /** When the gateway was killed; null while it has not been. */
  gatewayKilledAt: number | null;
}

export interface SeenMessage {
  seq: number;
  clientMsgId: string;
  sender: string;
  contentType: string;
  content: string;
  stampedAt: number;
  via: 'live' | 'sync' | 'own';
  at: number;
}

export interface ConversationView {
  /** By server message id: each message once, however often it came. */
  byId: Map<string, SeenMessage>;
  /** seq -> server message id, to catch two ids with one seq. */
  bySeq: Map<number, string>;
  /** First-seen seqs of live pushes, in arrival order. */
  liveOrder: number[];
  contiguous: number;
  syncing: boolean;
  duplicates: number;
}

export interface ClientStats {
  reconnects: number;
  syncRequests: number;
  syncResults: number;
  /** Messages first seen through a gap/reconnect sync (not the initial one). */
  syncFilled: number;
  /**
   * Another user's messages that live delivery skipped before the gateway was ever killed: a
   * gap that only a sync filled (a live-delivery loss). A gap of this client's own message is
   * no loss: its ack travels apart from delivery, and after a crash of the stamping process it
   * comes only once the resend reaches the restarted process, later than the peer's next
   * message; the sync that fills it early is the client's choice, not a lost message.
   */
  gapSyncsBeforeGatewayKill: number;
  violations: string[];
}

interface PendingSend {
  frame: Record<string, unknown>;
  conversation: string;
  firstSentAt: number;
  nextRetryAt: number;
  attempts: number;
}

export interface AckRecord {
  seq: number;
  serverMsgId: string;
  conversation: string;
  latencyMs: number;
  /** When the ack arrived (epoch ms). */
  at: number;
}

const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 2_000;

/** How long a client waits for a missing seq before it syncs the gap. */
const GAP_GRACE_MS = 1_000;

export class ChaosClient {
  ws: WebSocket | null = null;
  open = false;
  private closing = false;
  private reconnectDelay = RECONNECT_MIN_MS;
  private timer: NodeJS.Timeout | undefined;
  /** Set once the scenario starts; syncs before it are the initial catch-up, not gap fills. */
  streaming = false;

  readonly conversations = new Map<string, ConversationView>();
  readonly stats: ClientStats = { reconnects: 0, syncRequests: 0, syncResults: 0, syncFilled: 0, gapSyncsBeforeGatewayKill: 0, violations: [] };
  readonly pending = new Map<string, PendingSend>();
  readonly acks = new Map<string, AckRecord>();
  duplicateAcks = 0;
  resends = 0;
  /** Error frames by code, counted once the stream started. */
  readonly errors = new Map<string, number>();
  /** `conversation|seq` of gaps a sync was asked to fill while the gateway was up: judged when the seq arrives. */
  private readonly gapsWhileGatewayUp = new Set<string>();
  /** When the current connection opened. */
  connectedAt = 0;

  constructor(
    readonly name: string,
    readonly userId: string,
    private readonly url: () => string,
    private readonly phase: Phase,
    private readonly options: { ackTimeoutMs: number; maxRetryDelayMs: number },
  ) {}

  async connect(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.url());
      ws.once('open', () => {
        this.ws = ws;
        this.open = true;
        this.reconnectDelay = RECONNECT_MIN_MS;
        this.connectedAt = Date.now();
        resolve();
      });
      ws.once('error', (err) => {
        if (!this.open || this.ws !== ws) reject(err);
      });
      ws.on('message', (data) => this.onFrame(JSON.parse(String(data)) as WireFrame));
      ws.on('close', () => {
        if (this.ws === ws) {
          this.open = false;
          this.ws = null;
          if (!this.closing) this.scheduleReconnect();
        }
      });
    });
    if (!this.timer) this.timer = setInterval(() => this.retryDue(), 200);
  }

  close(): void {
    this.closing = true;
    clearInterval(this.timer);
    this.ws?.close();
  }

  private scheduleReconnect(): void {
    setTimeout(() => {
      if (this.closing) return;
      this.connect().then(
        () => {
          this.stats.reconnects++;
          this.afterReconnect();
        },
        () => {
          this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
          this.scheduleReconnect();
        },
      );
    }, this.reconnectDelay);
  }

  /** As the protocol asks: resend what is unacked, and sync each known conversation. */
  private afterReconnect(): void {
    const now = Date.now();
    for (const p of this.pending.values()) p.nextRetryAt = now;
    for (const id of this.conversations.keys()) this.requestSync(id);
  }

  private raw(frame: unknown): void {
    if (this.open && this.ws) this.ws.send(JSON.stringify(frame));
  }

  // ---- sending ----

  send(msgId: string, recipient: string, recipientType: 'user' | 'group', conversation: string, content: string): void {
    const frame = { type: 'send_msg', msg_id: msgId, recipient, recipient_type: recipientType, content, timestamp: Date.now() };
    const now = Date.now();
    this.pending.set(msgId, { frame, conversation, firstSentAt: now, nextRetryAt: now + this.options.ackTimeoutMs, attempts: 1 });
    this.raw(frame);
  }

  private retryDue(): void {
    if (!this.open) return;
    const now = Date.now();
    for (const [, p] of this.pending) {
      if (p.nextRetryAt > now) continue;
      p.attempts++;
      p.nextRetryAt = now + Math.min(this.options.ackTimeoutMs * 2 ** (p.attempts - 2), this.options.maxRetryDelayMs);
      this.resends++;
      this.raw({ ...p.frame, timestamp: now });
    }
  }

  // ---- receiving ----

  view(conversation: string): ConversationView {
    let v = this.conversations.get(conversation);
    if (!v) this.conversations.set(conversation, (v = { byId: new Map(), bySeq: new Map(), liveOrder: [], contiguous: 0, syncing: false, duplicates: 0 }));
    return v;
  }

  requestSync(conversation: string): void {
    const v = this.view(conversation);
    if (v.syncing || !this.open) return;
    v.syncing = true;
    this.stats.syncRequests++;
    this.raw({ type: 'sync', conversation_id: conversation, after_seq: v.contiguous, limit: 200 });
    // An answer lost with a dying gateway must not block later syncs.
    setTimeout(() => (v.syncing = false), 3_000);
  }

  private onFrame(f: WireFrame): void {
    switch (f.type) {
      case 'message':
        this.raw({ type: 'ack', msg_id: f.msg_id });
        this.record(f, 'live');
        return;
      case 'ack':
        this.onAck(f);
        return;
      case 'sync_result':
        this.onSyncResult(f);
        return;
      case 'error': {
        const code = String(f.error_code);
        if (this.streaming) this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
        const p = typeof f.msg_id === 'string' ? this.pending.get(f.msg_id) : undefined;
        if (p) p.nextRetryAt = Math.min(p.nextRetryAt, Date.now() + 1_000);
        return;
      }
      default:
        return;
    }
  }

  private onAck(f: WireFrame): void {
    const msgId = String(f.msg_id);
    const rec: AckRecord = { seq: Number(f.sequence_number), serverMsgId: String(f.server_msg_id), conversation: String(f.conversation_id), latencyMs: 0, at: Date.now() };
    const prior = this.acks.get(msgId);
    if (prior) {
      this.duplicateAcks++;
      if (prior.seq !== rec.seq || prior.serverMsgId !== rec.serverMsgId) this.stats.violations.push(`${this.name}: ack of ${msgId} changed: ${JSON.stringify(prior)} then ${JSON.stringify(rec)}`);
      return;
    }
    const p = this.pending.get(msgId);
    if (!p) {
      this.stats.violations.push(`${this.name}: ack for unknown msg_id ${msgId}`);
      return;
    }
    if (p.conversation !== rec.conversation) this.stats.violations.push(`${this.name}: ack of ${msgId} names ${rec.conversation}, sent to ${p.conversation}`);
    rec.latencyMs = Date.now() - p.firstSentAt;
    this.pending.delete(msgId);
    this.acks.set(msgId, rec);
    // The app shows its own message once acked: it takes its seq in the conversation.
    const content = String(p.frame.content);
    this.record({ type: 'message', msg_id: rec.serverMsgId, sequence_number: rec.seq, conversation_id: rec.conversation, client_msg_id: msgId, sender: this.userId, content, timestamp: Number(f.timestamp) }, 'own');
  }

  private onSyncResult(f: WireFrame): void {
    const conversation = typeof f.conversation_id === 'string' ? f.conversation_id : null;
    if (!conversation) return;
    const v = this.view(conversation);
    this.stats.syncResults++;
    const messages = Array.isArray(f.messages) ? (f.messages as WireFrame[]) : [];
    for (const m of messages) this.record(m, 'sync');
    v.syncing = false;
    if (f.has_more === true) this.requestSync(conversation);
  }

  private record(f: WireFrame, via: SeenMessage['via']): void {
    const conversation = String(f.conversation_id);
    const v = this.view(conversation);
    const id = String(f.msg_id);
    const seq = Number(f.sequence_number);
    const prior = v.byId.get(id);
    if (prior) {
      v.duplicates++;
      if (prior.seq !== seq) this.stats.violations.push(`${this.name}: ${id} seen with seq ${prior.seq} and ${seq}`);
      return;
    }
    if (this.gapsWhileGatewayUp.delete(`${conversation}|${seq}`) && via === 'sync' && String(f.sender) !== this.userId) this.stats.gapSyncsBeforeGatewayKill++;
    const other = v.bySeq.get(seq);
    if (other !== undefined) this.stats.violations.push(`${this.name}: seq ${seq} of ${conversation} carried by ${other} and ${id}`);
    const now = Date.now();
    v.byId.set(id, { seq, clientMsgId: String(f.client_msg_id), sender: String(f.sender), contentType: String(f.content_type ?? 'text'), content: String(f.content), stampedAt: Number(f.timestamp), via, at: now });
    v.bySeq.set(seq, id);
    if (via === 'live') v.liveOrder.push(seq);
    else if (via === 'sync' && this.streaming) this.stats.syncFilled++;
    while (v.bySeq.has(v.contiguous + 1)) v.contiguous++;
    // A seq beyond the next expected one means something in between is missing: sync it if it
    // is still missing after a short grace. The gap may be this client's own message, whose
    // ack can come a moment after a later message of the peer (after a crash, acks of a
    // redelivered batch follow its stamped records); real clients wait a moment too.
    if (via === 'live' && seq > v.contiguous + 1) {
      const missing = v.contiguous + 1;
      // With sends of its own still unacked here, the gap is most likely one of them: give
      // their acks the time a client gives an ack before resending.
      const ownPending = [...this.pending.values()].some((p) => p.conversation === conversation);
      setTimeout(() => {
        if (v.bySeq.has(missing)) return;
        if (this.streaming && this.phase.gatewayKilledAt === null) this.gapsWhileGatewayUp.add(`${conversation}|${missing}`);
        this.requestSync(conversation);
      }, ownPending ? this.options.ackTimeoutMs : GAP_GRACE_MS);
    }
  }
}
