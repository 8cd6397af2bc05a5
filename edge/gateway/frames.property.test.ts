import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../streams/testing.js';
import { startPlatform, type Platform } from '../../e2e/harness.js';
import { AVRO_INT_MAX, AVRO_LONG_MAX } from '../../protocol/numbers.js';
import { ErrorCodes } from '../../protocol/codes.js';
import { CLIENT_FRAME_TYPES } from '../../protocol/frames.js';
import { startTestGateway, TestClient, type Frame, type GatewayHarness } from './testing.js';

/**
 * Bad input over the WebSocket, generated: random JSON, wrong types, numbers an Avro long or int
 * cannot hold, deep nesting, unknown fields, injection-looking strings, binary frames, invalid
 * UTF-8, oversize frames. Each frame gets the answer docs/protocol.md documents (checked against
 * a model of its rules written from the document), the connection ends only where the document
 * says so, and a bystander on the same gateway keeps being answered throughout.
 * Failures print fast-check's seed and the shrunk frame.
 */
const RUNS = 300;

// ---- what clients may send ----

/** Strings a careless backend would treat as something else than a string. */
const injections = ['{"$gt":""}', '{"$ne":null}', '__proto__', 'constructor', 'prototype', "'; DROP TABLE users; --", '<script>alert(1)</script>', '../../etc/passwd', '%00', 'a|b', 'd:alice:bob', 'g:x', 'alice', '\u0000', '\ud800', '😀'.repeat(3), ' '];
/** Number literals as a client may write them, several beyond what JS or Avro hold exactly. */
const numberLiterals = ['0', '-0', '1', '-1', '1.5', '1e3', '1E308', '1e400', '-1e400', '1.5e-300', '123456789012345678901234567890', String(AVRO_LONG_MAX), String(AVRO_LONG_MAX + 1), String(Number.MAX_SAFE_INTEGER + 1), String(AVRO_INT_MAX), String(AVRO_INT_MAX + 1), '-9007199254740991'];

/** Deeply nested arrays or objects, as JSON text (a few thousand levels fit a frame). */
const deep = fc.tuple(fc.integer({ min: 100, max: 3_000 }), fc.boolean()).map(([depth, arrays]) => (arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));

/** One JSON value as text: anything at all, with the nasty ones made likely. */
const anyValueText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...numberLiterals) },
  { weight: 3, arbitrary: fc.constantFrom(...injections).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.constant('{"$gt":""}') },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', '""', '[]', '{}') },
  { weight: 1, arbitrary: deep },
);

/** What a valid value of each field looks like, so near-valid frames get past the first checks. */
const validField: Record<string, fc.Arbitrary<string>> = {
  msg_id: fc.string({ minLength: 1, maxLength: 20 }).map((s) => JSON.stringify(s)),
  recipient: fc.constantFrom('"bob"', '"g-1"'),
  recipient_type: fc.constantFrom('"user"', '"group"'),
  content: fc.string({ maxLength: 30 }).map((s) => JSON.stringify(s)),
  content_type: fc.constant('"text"'),
  timestamp: fc.integer({ min: 0, max: AVRO_LONG_MAX }).map(String),
  conversation_id: fc.constant('"d:alice:bob"'),
  after_seq: fc.integer({ min: 0, max: AVRO_LONG_MAX }).map(String),
  limit: fc.integer({ min: 1, max: AVRO_INT_MAX }).map(String),
  seq: fc.nat().map(String),
  active: fc.constantFrom('true', 'false'),
  token: fc.string({ minLength: 1, maxLength: 40 }).map((s) => JSON.stringify(s)),
  sender: fc.constant('"alice"'),
  message_id: fc.string({ minLength: 1, maxLength: 26 }).map((s) => JSON.stringify(s)),
  emoji: fc.constantFrom('"👍"', '"🎉"'),
  remove: fc.constantFrom('true', 'false'),
  status: fc.constantFrom('"online"', '"away"'),
  muted: fc.constantFrom('"none"', '"mentions"', '"all"'),
  pinned: fc.constantFrom('true', 'false'),
  archived: fc.constantFrom('true', 'false'),
  marked_unread: fc.constantFrom('true', 'false'),
};

/** The fields each frame type has (docs/protocol.md), plus ones a client may add. */
const fieldsOf: Record<string, string[]> = {
  send_msg: ['msg_id', 'recipient', 'recipient_type', 'content', 'content_type', 'timestamp'],
  ack: ['msg_id', 'conversation_id', 'seq'],
  heartbeat: [],
  sync: ['conversation_id', 'after_seq', 'limit', 'msg_id'],
  read: ['conversation_id', 'seq', 'msg_id'],
  typing: ['recipient', 'recipient_type', 'active', 'msg_id'],
  token_refresh: ['token', 'msg_id'],
  recall_msg: ['msg_id', 'conversation_id', 'seq', 'message_id'],
  edit_msg: ['msg_id', 'conversation_id', 'seq', 'message_id', 'content'],
  react: ['msg_id', 'conversation_id', 'seq', 'message_id', 'emoji', 'remove'],
  delete_for_me: ['msg_id', 'conversation_id', 'seq', 'message_id'],
  presence: ['status', 'msg_id'],
  conversation_settings: ['msg_id', 'conversation_id', 'muted', 'pinned', 'archived', 'marked_unread'],
};

/** A frame of a known type: each field valid, wrong, or left out, plus unknown fields and `__proto__`. */
const nearValidFrame: fc.Arbitrary<string> = fc.constantFrom(...CLIENT_FRAME_TYPES).chain((type) => {
  const fields = [...(fieldsOf[type] ?? []), 'sender'];
  const entry = (name: string) => fc.oneof(
    { weight: 6, arbitrary: validField[name]!.map((v) => [name, v] as const) },
    { weight: 3, arbitrary: anyValueText.map((v) => [name, v] as const) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
  const extra = fc.array(fc.tuple(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'sender', 'type', 'x'), fc.string({ maxLength: 8 })), anyValueText), { maxLength: 3 });
  return fc.tuple(fc.tuple(...fields.map((f) => (f === 'sender' ? fc.option(entry(f), { freq: 4 }) : entry(f)))), extra).map(([entries, more]) => {
    const parts = [`"type":"${type}"`, ...entries.filter((e): e is readonly [string, string] => e !== null).map(([k, v]) => `${JSON.stringify(k)}:${v}`), ...more.map(([k, v]) => `${JSON.stringify(k)}:${v}`)];
    return `{${parts.join(',')}}`;
  });
});

/** Everything else: random JSON, unknown types, broken text. */
const otherFrame: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ type: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'SEND_MSG', 'message', 'error')), msg_id: fc.option(fc.string({ maxLength: 8 })) }).map((o) => JSON.stringify(o)),
  anyValueText,
  fc.string({ maxLength: 60 }),
  deep,
);

interface Sent {
  bytes: Buffer;
  binary: boolean;
}

const asText = (text: string): Sent => ({ bytes: Buffer.from(text, 'utf8'), binary: false });

/** Frames that keep the connection: text frames of valid UTF-8, and any bytes as a binary frame, within 8x the frame limit. */
const keptFrame: fc.Arbitrary<Sent> = fc.oneof(
  { weight: 5, arbitrary: nearValidFrame.map(asText) },
  { weight: 3, arbitrary: otherFrame.map(asText) },
  { weight: 1, arbitrary: nearValidFrame.map((t) => ({ bytes: Buffer.from(t, 'utf8'), binary: true })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => ({ bytes: Buffer.from(b), binary: true })) },
);

// ---- what the document says the answer is ----

type Expected =
  | { kind: 'error'; code: string; msgId?: string }
  | { kind: 'heartbeat' }
  | { kind: 'nothing' }
  | { kind: 'ingress'; text: string }
  | { kind: 'token_refresh'; msgId?: string };

const isStr = (v: unknown): boolean => typeof v === 'string';
const isBool = (v: unknown): boolean => typeof v === 'boolean';
const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const whole = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const optional = (check: (v: unknown) => boolean) => (v: unknown): boolean => v === undefined || check(v);
const kindOf = optional((v) => v === 'user' || v === 'group');

/** docs/protocol.md, "Client → server" and "Limits": the required fields and their ranges. */
const rules: Record<string, Record<string, (v: unknown) => boolean>> = {
  send_msg: { msg_id: nonEmpty, recipient: nonEmpty, recipient_type: kindOf, content: isStr, content_type: optional(isStr), timestamp: (v) => whole(v, 0, AVRO_LONG_MAX) },
  ack: { msg_id: optional(isStr), conversation_id: optional(isStr), seq: optional((v) => whole(v, 0, AVRO_LONG_MAX)) },
  heartbeat: {},
  sync: { conversation_id: optional(isStr), after_seq: optional((v) => whole(v, 0, AVRO_LONG_MAX)), limit: optional((v) => whole(v, 1, AVRO_INT_MAX)) },
  read: { conversation_id: nonEmpty, seq: (v) => whole(v, 0, AVRO_LONG_MAX) },
  typing: { recipient: nonEmpty, recipient_type: kindOf, active: (v) => typeof v === 'boolean' },
  token_refresh: { token: nonEmpty },
  recall_msg: { msg_id: nonEmpty, conversation_id: nonEmpty, seq: (v) => whole(v, 0, AVRO_LONG_MAX), message_id: optional(isStr) },
  edit_msg: { msg_id: nonEmpty, conversation_id: nonEmpty, seq: (v) => whole(v, 0, AVRO_LONG_MAX), message_id: optional(isStr), content: isStr },
  react: { msg_id: nonEmpty, conversation_id: nonEmpty, seq: (v) => whole(v, 0, AVRO_LONG_MAX), message_id: optional(isStr), emoji: nonEmpty, remove: optional((v) => typeof v === 'boolean') },
  delete_for_me: { msg_id: nonEmpty, conversation_id: nonEmpty, seq: (v) => whole(v, 0, AVRO_LONG_MAX), message_id: optional(isStr) },
  presence: { status: (v) => v === 'online' || v === 'away' },
  conversation_settings: { msg_id: nonEmpty, conversation_id: nonEmpty, muted: optional((v) => v === 'none' || v === 'mentions' || v === 'all'), pinned: optional(isBool), archived: optional(isBool), marked_unread: optional(isBool) },
};

function expectedAnswer(sent: Sent, maxFrameBytes: number, userId: string): Expected {
  if (sent.bytes.length > maxFrameBytes) return { kind: 'error', code: 'FRAME_TOO_LARGE' };
  let value: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(sent.bytes);
    value = JSON.parse(text);
  } catch {
    return { kind: 'error', code: 'INVALID_JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'error', code: 'MALFORMED_FRAME' };
  const frame = value as Record<string, unknown>;
  const msgId = typeof frame.msg_id === 'string' ? frame.msg_id : undefined;
  if (typeof frame.type !== 'string') return { kind: 'error', code: 'MALFORMED_FRAME', msgId };
  const fieldRules = Object.hasOwn(rules, frame.type) ? rules[frame.type] : undefined;
  if (!fieldRules) return { kind: 'error', code: 'UNKNOWN_FRAME_TYPE', msgId };
  if (Object.entries(fieldRules).some(([field, ok]) => !ok(frame[field]))) return { kind: 'error', code: 'MALFORMED_FRAME', msgId };
  // An ack is of one message (msg_id) or of a conversation up to a seq (conversation_id and seq).
  if (frame.type === 'ack' && !nonEmpty(frame.msg_id) && !(nonEmpty(frame.conversation_id) && whole(frame.seq, 1, AVRO_LONG_MAX))) return { kind: 'error', code: 'MALFORMED_FRAME', msgId };
  if (frame.type === 'heartbeat') return { kind: 'heartbeat' };
  if (frame.type === 'ack') return { kind: 'nothing' };
  if (frame.sender !== undefined && frame.sender !== userId) return { kind: 'error', code: 'SENDER_MISMATCH', msgId };
  if (frame.type === 'token_refresh') return { kind: 'token_refresh', msgId };
  // Presence is the gateway's and answers nothing (people presence is not wired in this harness).
  if (frame.type === 'presence') return { kind: 'nothing' };
  return { kind: 'ingress', text };
}

// ---- the bystander ----

/**
 * Another user on the same gateway, all through a run: it sends a heartbeat and a message every
 * few milliseconds and is pushed a message each time. `check` says whether everything was
 * answered and delivered, and how long the slowest heartbeat took.
 */
class Bystander {
  private timer: NodeJS.Timeout | null = null;
  private sent = 0;
  private pingedAt: number[] = [];
  private latencies: number[] = [];

  constructor(private readonly client: TestClient, private readonly tick: (n: number) => Promise<void> | void) {
    client.ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as Frame;
      if (f.type === 'heartbeat') this.latencies.push(Date.now() - (this.pingedAt.shift() ?? Date.now()));
    });
  }

  start(): void {
    this.timer = setInterval(() => {
      const n = ++this.sent;
      this.pingedAt.push(Date.now());
      this.client.send({ type: 'heartbeat' });
      void this.tick(n);
    }, 5);
  }

  /** Stops, waits for the last answers, and reports. */
  async stop(): Promise<{ sent: number; answered: number; maxLatencyMs: number }> {
    if (this.timer) clearInterval(this.timer);
    await eventually(() => this.latencies.length === this.sent, 'bystander heartbeats answered', 5_000);
    return { sent: this.sent, answered: this.latencies.length, maxLatencyMs: Math.max(0, ...this.latencies) };
  }
}

// ---- the gateway alone: the document's answer to each frame ----

describe('WebSocket frames against the gateway (memory engine)', () => {
  let h: GatewayHarness;
  let bystander: Bystander;
  let bob: TestClient;
  let fence = 0;
  beforeAll(async () => {
    // The rate limit is tested elsewhere: here it would only make the answers depend on timing.
    h = await startTestGateway({ config: { userRatePerSec: 1_000_000 } });
    bob = await h.client('bob', 'phone');
    bystander = new Bystander(bob, async (n) => {
      bob.send({ type: 'send_msg', msg_id: `bystander-${n}`, recipient: 'carol', content: 'still here', timestamp: Date.now() });
      await h.pushBus.publish({ gatewayId: h.config.gatewayId, correlationId: `by-${n}`, createdAt: Date.now(), deliveries: [{ userId: 'bob', connectionId: null, messageId: null, frame: JSON.stringify({ type: 'message', msg_id: `push-${n}` }) }] });
    });
    bystander.start();
  });
  afterAll(async () => {
    await bystander?.stop();
    await h?.close();
  });

  /**
   * Sends one frame and returns what the gateway answered synchronously: everything before the
   * answer to a fence (an unknown frame type with its own msg_id, answered at once and in order).
   */
  async function exchange(c: TestClient, sent: Sent): Promise<Frame[]> {
    const id = `fence-${++fence}`;
    c.ws.send(sent.bytes, { binary: sent.binary });
    c.send({ type: id, msg_id: id });
    const end = await c.next((f) => f.type === 'error' && f.msg_id === id);
    return c.frames.splice(0, c.frames.length).filter((f) => f !== end);
  }

  it('answers every frame as documented and keeps the connection', async () => {
    const alice = await h.client('alice', 'phone');
    const ingressed = (text: string): number => h.ingress.records.filter((r) => r.value.payload === text && r.value.userId === 'alice').length;
    await fc.assert(
      fc.asyncProperty(keptFrame, async (sent) => {
        const expected = expectedAnswer(sent, h.config.maxFrameBytes, 'alice');
        const before = expected.kind === 'ingress' ? ingressed(expected.text) : 0;
        const got = await exchange(alice, sent);
        switch (expected.kind) {
          case 'error':
            expect(got).toEqual([{ type: 'error', error_code: expected.code, error_message: expect.any(String), timestamp: expect.any(Number), ...(expected.msgId === undefined ? {} : { msg_id: expected.msgId }) }]);
            break;
          case 'heartbeat':
            expect(got).toEqual([{ type: 'heartbeat', timestamp: expect.any(Number) }]);
            break;
          case 'nothing':
            expect(got).toEqual([]);
            break;
          case 'token_refresh': {
            // Verified asynchronously: the refusal may come before the fence's answer or after it.
            const refused = got.length > 0 ? got : [await alice.next((f) => f.type === 'error')];
            expect(refused).toEqual([expect.objectContaining({ type: 'error', error_code: 'TOKEN_INVALID' })]);
            expect(refused[0]!.msg_id).toBe(expected.msgId);
            break;
          }
          case 'ingress':
            expect(got).toEqual([]);
            await eventually(() => ingressed(expected.text) === before + 1, 'the frame passed through to im.ingress as it was sent', 5_000);
            break;
        }
        expect(alice.closed).toBeNull();
      }),
      { numRuns: RUNS },
    );
    expect(Object.keys(Object.prototype)).toEqual([]);
    const by = await bystander.stop();
    expect(by.answered).toBe(by.sent);
    expect(by.sent).toBeGreaterThanOrEqual(5);
    expect(by.maxLatencyMs).toBeLessThan(2_000);
    expect(bob.closed).toBeNull();
    // Every message and push of the bystander went through.
    await eventually(() => h.ingress.records.filter((r) => r.value.userId === 'bob').length === by.sent, 'bystander messages in im.ingress', 5_000);
    await eventually(() => bob.frames.filter((f) => f.type === 'message').length === by.sent, 'bystander pushes delivered', 5_000);
    bystander.start();
  });

  it('ends the connection, without a close frame, for invalid UTF-8 in a text frame and for a frame over 8x the limit; the gateway goes on', async () => {
    const invalidUtf8 = fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]), fc.string({ maxLength: 20 }))
      .map(([a, bad, b]) => Buffer.concat([Buffer.from(`{"type":"send_msg","msg_id":"${a.length}","content":"`), Buffer.from(bad), Buffer.from(`${JSON.stringify(b)}"}`)]));
    const max = h.config.maxFrameBytes;
    const dropped = fc.oneof(
      invalidUtf8.map((bytes) => ({ bytes, binary: false, answer: null })),
      fc.tuple(fc.integer({ min: 8 * max + 1, max: 4 * 1024 * 1024 }), fc.boolean()).map(([n, binary]) => ({ bytes: Buffer.alloc(n, 0x20), binary, answer: null })),
      // Just over the limit but within 8x: answered, and the connection stays.
      fc.integer({ min: max + 1, max: 8 * max }).map((n) => ({ bytes: Buffer.alloc(n, 0x20), binary: false, answer: 'FRAME_TOO_LARGE' })),
    );
    let attacker = 0;
    await fc.assert(
      fc.asyncProperty(dropped, async (sent) => {
        const c = await h.client(`mallory-${++attacker}`, 'phone');
        c.ws.on('error', () => {}); // the drop is the expected outcome
        if (sent.answer) {
          const got = await exchange(c, sent);
          expect(got.map((f) => f.error_code)).toEqual([sent.answer]);
          expect(c.closed).toBeNull();
          c.close();
          return;
        }
        c.ws.send(sent.bytes, { binary: sent.binary });
        expect((await c.waitClosed()).code).toBe(1006);
        expect(c.frames).toEqual([]);
      }),
      { numRuns: 20 },
    );
    const by = await bystander.stop();
    expect(by.answered).toBe(by.sent);
    expect(by.maxLatencyMs).toBeLessThan(2_000);
    expect(bob.closed).toBeNull();
    // The gateway still admits and answers.
    const after = await h.client('mallory', 'after');
    after.send({ type: 'heartbeat' });
    expect(await after.nextOfType('heartbeat')).toHaveProperty('timestamp');
    bystander.start();
  });
});

// ---- the whole platform: no frame goes unanswered ----

describe('WebSocket frames through the whole platform (memory engine)', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await startPlatform('memory', { IM_REQUIRE_FRIENDSHIP: 'false', IM_USER_RATE_PER_SEC: '1000000', IM_ROUTER_RATE_PER_SEC: '1000000', IM_ROUTER_BURST: '1000000' });
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
  });

  /** A send_msg or sync that may be anything in each field, always with a msg_id of its own. */
  let serial = 0;
  const pipelineFrame = fc.constantFrom('send_msg', 'sync').chain((type) =>
    fc.tuple(...(fieldsOf[type] ?? []).filter((f) => f !== 'msg_id').map((f) => fc.oneof({ weight: 3, arbitrary: validField[f]! }, { weight: 1, arbitrary: anyValueText }, { weight: 1, arbitrary: fc.constantFrom(...injections).map((s) => JSON.stringify(s)) }).map((v) => `${JSON.stringify(f)}:${v}`)))
      .map((parts) => ({ type, parts })),
  );

  it('answers every send_msg and sync: an ack or a sync_result, or an error carrying its msg_id', async () => {
    const [ann, ben] = [await p.user('ann'), await p.user('ben')];
    const a = await ann.connect();
    const b = await ben.connect();
    const known = new Set(Object.keys(ErrorCodes));
    let live = 0;
    await fc.assert(
      fc.asyncProperty(pipelineFrame, async ({ type, parts }) => {
        const msgId = `pf-${++serial}`;
        const frame = `{"type":"${type}","msg_id":"${msgId}",${parts.join(',')}}`;
        // A frame over the limit is not read, so its refusal cannot name it.
        const tooLarge = Buffer.byteLength(frame) > p.config.edge.maxFrameBytes;
        a.send(frame);
        const answer = await a.next((f) => (f.type === 'error' && (f.msg_id === msgId || (tooLarge && f.error_code === 'FRAME_TOO_LARGE'))) || (type === 'send_msg' && f.type === 'ack' && f.msg_id === msgId) || (type === 'sync' && f.type === 'sync_result'), 3_000);
        if (answer.type === 'error') expect(known.has(String(answer.error_code)), String(answer.error_code)).toBe(true);
        if (answer.type === 'sync_result' && answer.conversation_id !== null) {
          // A sync of every conversation ends with its null page; drain it so the next run starts clean.
          if (!/"conversation_id":"/.test(frame)) await a.next((f) => f.type === 'sync_result' && f.conversation_id === null, 3_000);
        }
        a.frames.splice(0, a.frames.length);
        // Meanwhile the other user keeps chatting.
        const tag = `live-${++live}`;
        b.send({ type: 'send_msg', msg_id: tag, recipient: ann.id, content: tag, timestamp: Date.now() });
        await b.next((f) => f.type === 'ack' && f.msg_id === tag, 3_000);
      }),
      { numRuns: 150 },
    );
    expect(a.closed ?? b.closed).toBeNull();
  }, 120_000);
});
