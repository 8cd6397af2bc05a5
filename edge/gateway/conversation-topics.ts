import { FailureStretchLog } from '../../core/failure-stretch-log.js';
import type { Logger } from '../../core/logger.js';
import type { ConversationOp, OnlinePush } from '../../schemas/types.generated.js';
import type { GroupRouting } from '../presence/presence.js';
import type { AckTracker } from './acks.js';
import { closeConn, writeFrame, type Conn, type Connections } from './connections.js';
import { gatewayMetrics as m } from './metrics.js';
import type { TemplatedApp } from './uws.js';

export interface ConversationTopicsDeps {
  app: TemplatedApp;
  conns: Connections;
  acks: AckTracker;
  routing: Pick<GroupRouting, 'conversationsOf'>;
  gatewayId: string;
  /** Buffered bytes past which a connection is closed as a slow consumer. */
  bound: number;
  logger: Logger;
}

/** An op that arrived while some connection's conversations were being read. */
interface HeldOp {
  op: ConversationOp;
  correlationId: string;
}

/** Ops kept for connections still reading their conversations; past it the oldest go (those clients sync the gap). */
const MAX_HELD_OPS = 10_000;
/** Waits before asking again for conversations the store could not give (being rebuilt, or unreachable), growing to the last. */
const RETRY_MS = [500, 1_000, 2_000, 5_000, 10_000];

/**
 * Group delivery on this gateway: one uWS topic per group conversation, every local connection
 * of a member subscribed, so a message is one `publish` of one frame, written to every
 * subscriber by uWS itself. Subscriptions follow the membership: a connection reads its user's
 * conversations when admitted; SUBSCRIBE/UNSUBSCRIBE/CLOSE ops from push orchestration follow
 * joins, removals and disbands in message order.
 *
 * A connection is online (in presence) before its conversations are read back: ops that arrive
 * meanwhile are held and replayed to it once they are known, so nothing published to a member
 * found online is lost in between.
 */
export class ConversationTopics {
  /** Local subscribers per conversation. */
  private readonly subscribers = new Map<string, Set<Conn>>();
  /** Each subscribed connection's conversations (uWS no longer answers once a socket closed). */
  private readonly joined = new Map<Conn, Set<string>>();
  /** Connections whose conversations are being read, with the position in `held` where theirs start (oldest first). */
  private readonly reading = new Map<Conn, number>();
  private held: HeldOp[] = [];
  /** Position of `held[0]` since the gateway started. */
  private heldBase = 0;
  /** Pushes whose ops are not all applied yet, oldest first, with the next op's index. */
  private readonly queue: { push: OnlinePush; next: number }[] = [];
  /** A publish in this loop iteration that uWS has not written out yet. */
  private unwritten = false;
  /** The conversations published to since uWS last wrote out. */
  private readonly writtenTo = new Set<string>();
  private readonly waiting: (() => void)[] = [];

  /** While Redis is away every connecting client's read fails: told once per stretch, not per connection and try. */
  private readonly readFailures: FailureStretchLog;

  constructor(private readonly d: ConversationTopicsDeps) {
    this.readFailures = new FailureStretchLog({ logger: d.logger, what: "reading connections' conversations failed; retrying", counting: 'connections', summaryEveryMs: 30_000, now: Date.now });
  }

  /** The conversations with a subscriber here, registered again with every presence heartbeat. */
  conversations(): string[] {
    return [...this.subscribers.keys()];
  }

  /**
   * An admitted connection: ops are held for it until `conversations` (its user's groups, read
   * with its presence entry) resolves; null or a failure means ask the store again.
   */
  admit(ws: Conn, conversations: Promise<string[] | null>): void {
    this.reading.set(ws, this.heldBase + this.held.length);
    let tries = 0;
    const attempt = (read: Promise<string[] | null>): void => {
      read.then(
        (convs) => {
          if (!convs) return this.retry(ws, attempt, tries++);
          if (tries > 0) this.readFailures.recovered();
          this.resolve(ws, convs);
        },
        (err: unknown) => {
          this.readFailures.failed(err, tries === 0 ? 1 : 0);
          this.retry(ws, attempt, tries++);
        },
      );
    };
    attempt(conversations);
  }

  /** A closed connection leaves its topics (uWS already dropped its subscriptions). */
  drop(ws: Conn): void {
    if (this.reading.delete(ws)) this.trimHeld();
    for (const c of this.joined.get(ws) ?? []) this.removeSubscriber(ws, c);
    this.joined.delete(ws);
  }

  /**
   * A push's conversation ops, in order after those of earlier pushes. Returns how many
   * publishes reached a subscriber now (a push waiting behind a deferred one counts none).
   */
  apply(push: OnlinePush): number {
    if (!push.conversationOps?.length) return 0;
    this.queue.push({ push, next: 0 });
    return this.queue.length === 1 ? this.run() : 0;
  }

  /**
   * Runs queued ops until none is left, or until a subscriber would leave a topic published to
   * in this loop iteration: uWS writes published frames out at the end of the iteration, to the
   * subscribers it has then, so the leave waits for that (the notice of a kick or a disband
   * still reaches the ones it announces).
   */
  private run(): number {
    let published = 0;
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      const ops = item.push.conversationOps ?? [];
      while (item.next < ops.length) {
        const op = ops[item.next]!;
        if ((op.kind === 'UNSUBSCRIBE' || op.kind === 'CLOSE') && this.unwritten) {
          this.afterWriteOut(() => this.run());
          return published;
        }
        item.next++;
        if (this.reading.size > 0) this.hold({ op, correlationId: item.push.correlationId });
        if (this.applyOne(op, item.push.correlationId)) published++;
      }
      this.queue.shift();
    }
    return published;
  }

  /** True when a publish reached a subscriber. */
  private applyOne(op: ConversationOp, correlationId: string): boolean {
    switch (op.kind) {
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE':
        for (const ws of this.d.conns.ofUser(op.userId ?? '')) {
          if (this.reading.has(ws)) continue; // held for it
          if (op.kind === 'SUBSCRIBE') this.subscribe(ws, op.conversationId);
          else this.unsubscribe(ws, op.conversationId);
        }
        return false;
      case 'CLOSE':
        for (const ws of [...(this.subscribers.get(op.conversationId) ?? [])]) this.unsubscribe(ws, op.conversationId);
        return false;
      case 'PUBLISH':
        return this.publish(op, correlationId) > 0;
    }
  }

  /** Once uWS has written this iteration's publishes out: timers run in the next iteration, after uWS's end-of-iteration step. */
  private afterWriteOut(then: () => void): void {
    this.waiting.push(then);
    if (this.waiting.length > 1) return;
    setTimeout(() => {
      this.unwritten = false;
      for (const f of this.waiting.splice(0)) f();
    }, 0);
  }

  private retry(ws: Conn, attempt: (read: Promise<string[] | null>) => void, tries: number): void {
    const d = ws.getUserData();
    if (!this.reading.has(ws) || d.closed) return;
    setTimeout(() => {
      if (this.reading.has(ws) && !d.closed) attempt(this.d.routing.conversationsOf(d.userId, this.d.gatewayId));
    }, RETRY_MS[Math.min(tries, RETRY_MS.length - 1)]).unref();
  }

  /** The connection's conversations are known: replay what was held for it, then subscribe. */
  private resolve(ws: Conn, conversations: string[]): void {
    const start = this.reading.get(ws);
    if (start === undefined) return; // closed meanwhile
    this.reading.delete(ws);
    const d = ws.getUserData();
    const mine = new Set(conversations);
    if (!d.closed) {
      const owed: { messageId: string; correlationId: string; frame: string }[] = [];
      ws.cork(() => {
        for (const { op, correlationId } of this.held.slice(Math.max(0, start - this.heldBase))) {
          if (op.kind === 'SUBSCRIBE' && op.userId === d.userId) mine.add(op.conversationId);
          else if ((op.kind === 'UNSUBSCRIBE' && op.userId === d.userId) || op.kind === 'CLOSE') mine.delete(op.conversationId);
          else if (op.kind === 'PUBLISH' && mine.has(op.conversationId) && op.exceptConnectionId !== d.id && op.frame) {
            if (writeFrame(ws, op.frame, 'message', this.d.bound) === 'ok' && op.messageId) owed.push({ messageId: op.messageId, correlationId, frame: op.frame });
          }
        }
      });
      for (const o of owed) this.d.acks.expect(d.userId, o.messageId, o.correlationId, o.frame);
      if (!d.closed) for (const c of mine) this.subscribe(ws, c);
    }
    this.trimHeld();
  }

  private subscribe(ws: Conn, conversationId: string): void {
    if (ws.getUserData().closed) return;
    ws.subscribe(conversationId);
    let subs = this.subscribers.get(conversationId);
    if (!subs) this.subscribers.set(conversationId, (subs = new Set()));
    subs.add(ws);
    let mine = this.joined.get(ws);
    if (!mine) this.joined.set(ws, (mine = new Set()));
    mine.add(conversationId);
  }

  private unsubscribe(ws: Conn, conversationId: string): void {
    if (!ws.getUserData().closed) ws.unsubscribe(conversationId);
    this.removeSubscriber(ws, conversationId);
    this.joined.get(ws)?.delete(conversationId);
  }

  private removeSubscriber(ws: Conn, conversationId: string): void {
    const subs = this.subscribers.get(conversationId);
    if (subs?.delete(ws) && subs.size === 0) this.subscribers.delete(conversationId);
  }

  /**
   * One frame to every subscriber here (but the sending connection), written by uWS; the ack it
   * owes noted per member. Returns the connections it goes to.
   */
  private publish(op: ConversationOp, correlationId: string): number {
    const subs = this.subscribers.get(op.conversationId);
    if (!subs || !op.frame) return 0;
    const frame = op.frame;
    const origin = op.exceptConnectionId ? this.d.conns.get(op.exceptConnectionId) : undefined;
    // A socket's own publish skips it, but only works from a subscriber.
    if (origin && subs.has(origin)) origin.publish(op.conversationId, frame, false);
    else this.d.app.publish(op.conversationId, frame, false);
    if (!this.unwritten) {
      this.unwritten = true;
      this.afterWriteOut(() => this.closeSlow());
    }
    this.writtenTo.add(op.conversationId);
    const owing = new Set<string>();
    let written = 0;
    for (const ws of subs) {
      if (ws === origin) continue;
      const d = ws.getUserData();
      if (d.closed) continue;
      owing.add(d.userId);
      written++;
    }
    m.framesOut.inc({ type: 'message' }, written);
    if (op.messageId) this.d.acks.expectAll(owing, op.messageId, correlationId, frame);
    return written;
  }

  /**
   * Once uWS has written the iteration's publishes: a subscriber whose buffered bytes passed the
   * bound is too slow and is closed (SLOW_CONSUMER; its unacked messages go to offline push, and
   * it syncs after reconnecting), as a direct write would have found.
   */
  private closeSlow(): void {
    for (const conversationId of this.writtenTo) {
      for (const ws of [...(this.subscribers.get(conversationId) ?? [])]) {
        if (!ws.getUserData().closed && ws.getBufferedAmount() > this.d.bound) closeConn(ws, 'SLOW_CONSUMER');
      }
    }
    this.writtenTo.clear();
  }

  private hold(op: HeldOp): void {
    this.held.push(op);
    if (this.held.length > MAX_HELD_OPS) {
      const dropped = this.held.length - MAX_HELD_OPS;
      this.held = this.held.slice(dropped);
      this.heldBase += dropped;
      this.d.logger.warn('connections read their conversations for too long: held group ops dropped (their clients sync the gap)', { dropped, reading: this.reading.size });
    }
  }

  /** Forgets held ops no connection still reading needs (the oldest reader's start onwards are kept). */
  private trimHeld(): void {
    const oldest = this.reading.values().next();
    const keepFrom = oldest.done ? this.heldBase + this.held.length : oldest.value;
    const drop = keepFrom - this.heldBase;
    if (drop <= 0) return;
    this.held = drop >= this.held.length ? [] : this.held.slice(drop);
    this.heldBase += drop;
  }
}
