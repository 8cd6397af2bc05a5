import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { recordingLogger, type LogLine } from '../../core/testing.js';
import type { SendCommand, WebhookDelivery } from '../../schemas/types.generated.js';
import { createBeforeSendHook, type BeforeSendSettings } from './before-send.js';
import { createAfterEventDeliverer, WebhookDeliveryError, type AfterEventSettings } from './deliveries.js';
import { webhooksFromConfig } from './from-config.js';
import { signatureHeader, verifySignature } from './signature.js';
import { startWebhookReceiver, type WebhookReceiver } from './testing.js';

const OLD_SECRET = 'old-secret-0123456789';
const NEW_SECRET = 'new-secret-9876543210';

let n = 0;
function send(content: string, kind: SendCommand['recipientKind'] = 'USER'): SendCommand {
  n++;
  return {
    correlationId: `c${n}`, sender: 'amy', origin: { gatewayId: 'gw-1', connectionId: 'conn-1', deviceId: 'dev-1' }, clientMsgId: `m${n}`,
    conversationId: kind === 'USER' ? 'd:amy:bo' : 'g:team', recipientKind: kind, recipientId: kind === 'USER' ? 'bo' : 'team',
    content, contentType: 'text', clientTimestamp: 1, receivedAt: 2,
  };
}

describe('webhook settings', () => {
  it('are off by default, on per event with a URL, and refuse a URL without the signing secret', () => {
    const off = loadConfig({}).webhooks;
    expect([off.beforeSend, off.afterSendUrl, off.afterFriendChangeUrl, off.afterGroupChangeUrl]).toEqual([null, null, null, null]);
    const on = loadConfig({ IM_WEBHOOK_SECRET: NEW_SECRET, IM_WEBHOOK_BEFORE_SEND_URL: 'https://hooks.example/before', IM_WEBHOOK_AFTER_GROUP_CHANGE_URL: 'http://hooks.example/groups' });
    expect(on.webhooks.beforeSend).toEqual({ url: 'https://hooks.example/before', scope: 'both', timeoutMs: 500, onFailure: 'allow' });
    const webhooks = webhooksFromConfig(on, recordingLogger([]));
    expect(webhooks.afterEvents).toEqual(['after-group-change']);
    expect(webhooks.beforeSend(() => 0)?.covers('USER')).toBe(true);
    expect(webhooksFromConfig(loadConfig({}), recordingLogger([])).beforeSend(() => 0)).toBeNull();
    expect(() => loadConfig({ IM_WEBHOOK_AFTER_SEND_URL: 'http://hooks.example/sent' })).toThrow(/IM_WEBHOOK_SECRET/);
    expect(() => loadConfig({ IM_WEBHOOK_SECRET: 'short', IM_WEBHOOK_AFTER_SEND_URL: 'ftp://hooks.example', IM_WEBHOOK_BEFORE_SEND_ON_FAILURE: 'maybe' })).toThrow(
      /IM_WEBHOOK_AFTER_SEND_URL=ftp:\/\/hooks.example must be an http or https URL[\s\S]*IM_WEBHOOK_BEFORE_SEND_ON_FAILURE=maybe must be one of allow, refuse[\s\S]*IM_WEBHOOK_SECRET must be at least 16 characters/,
    );
  });
});

describe('webhook signatures', () => {
  it('sign timestamp and body with the current secret, and with the previous one while rotating', () => {
    const body = '{"event":"after-send"}';
    const now = Date.now();
    const rotating = signatureHeader({ current: NEW_SECRET, previous: OLD_SECRET }, now, body);
    expect(rotating).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    // Receivers on either side of the rotation verify the same call.
    expect(verifySignature(rotating, body, NEW_SECRET, { now })).toEqual({ ok: true, timestamp: now });
    expect(verifySignature(rotating, body, OLD_SECRET, { now })).toEqual({ ok: true, timestamp: now });
    // Once the previous secret is dropped, a receiver still on it no longer verifies.
    const rotated = signatureHeader({ current: NEW_SECRET }, now, body);
    expect(verifySignature(rotated, body, OLD_SECRET, { now })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature(rotated, body.replace('send', 'sand'), NEW_SECRET, { now })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature(rotated, body, NEW_SECRET, { now: now + 10 * 60_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifySignature('v1=abc', body, NEW_SECRET, { now })).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySignature(undefined, body, NEW_SECRET, { now })).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('the before-send hook against a real endpoint', () => {
  const receivers: WebhookReceiver[] = [];
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
  });
  async function receiver(reply: WebhookReceiver['reply']): Promise<WebhookReceiver> {
    const r = await startWebhookReceiver({ secret: NEW_SECRET, reply });
    receivers.push(r);
    return r;
  }
  const settings = (url: string, extra: Partial<BeforeSendSettings> = {}): BeforeSendSettings => ({
    url, scope: 'both', timeoutMs: 2_000, onFailure: 'allow', secrets: { current: NEW_SECRET, previous: null },
    breakerFailureThreshold: 3, breakerOpenMs: 30_000, maxContentChars: 20, ...extra,
  });

  it('reads allow, refuse and rewrite, and sends the message it asks about, signed', async () => {
    const r = await receiver((call) => {
      const content = (call.json.message as { content: string }).content;
      if (content === 'spam') return { status: 200, body: { action: 'refuse', code: 'SPAM', message: 'no spam here' } };
      if (content === 'shout') return { status: 200, body: { action: 'rewrite', content: 'speak softly' } };
      return { status: 200, body: { action: 'allow' } };
    });
    const hook = createBeforeSendHook(settings(r.url()), { now: () => 0, logger: recordingLogger([]) });
    const asked = send('hello');
    expect(await hook.judge(asked)).toEqual({ action: 'allow' });
    expect(await hook.judge(send('spam'))).toEqual({ action: 'refuse', code: 'SPAM', message: 'no spam here' });
    expect(await hook.judge(send('shout', 'GROUP'))).toEqual({ action: 'rewrite', content: 'speak softly' });
    expect(r.calls.map((c) => [c.event, c.verified])).toEqual([['before-send', true], ['before-send', true], ['before-send', true]]);
    expect(r.calls[0]!.eventId).toBe(`before-send:amy:${asked.clientMsgId}`);
    expect(r.calls[0]!.json).toEqual({
      event: 'before-send', event_id: `before-send:amy:${asked.clientMsgId}`, occurred_at: 2,
      message: { client_msg_id: asked.clientMsgId, conversation_id: 'd:amy:bo', sender: 'amy', recipient: 'bo', recipient_type: 'user', content: 'hello', content_type: 'text', timestamp: 1 },
    });
    expect(r.calls[2]!.json.message).toMatchObject({ recipient: 'team', recipient_type: 'group' });
  });

  it('takes an answer that means nothing as a failure: fail-open allows, fail-closed says unavailable', async () => {
    const answers = [
      { status: 200, body: { action: 'rewrite', content: 'x'.repeat(21) } }, // longer than a client may send
      { status: 200, body: { action: 'rewrite', content: '' } },
      { status: 200, body: { action: 'refuse', code: 'has spaces' } },
      { status: 200, body: { action: 'maybe' } },
      { status: 200, body: ['allow'] },
      { status: 500, body: { action: 'allow' } },
    ];
    let i = 0;
    const r = await receiver(() => answers[i++ % answers.length]!);
    const open = createBeforeSendHook(settings(r.url(), { breakerFailureThreshold: 100 }), { now: () => 0, logger: recordingLogger([]) });
    for (const _ of answers) expect(await open.judge(send('hi'))).toEqual({ action: 'allow' });
    const closed = createBeforeSendHook(settings(r.url(), { onFailure: 'refuse', breakerFailureThreshold: 100 }), { now: () => 0, logger: recordingLogger([]) });
    for (const _ of answers) expect(await closed.judge(send('hi'))).toMatchObject({ action: 'unavailable' });
    expect(r.calls).toHaveLength(answers.length * 2);
  });

  it('times a slow endpoint out, opens its circuit after N failures, logs each change once, and probes again later', async () => {
    let slow = true;
    const r = await receiver(() => (slow ? { status: 200, body: { action: 'refuse', code: 'LATE' }, delayMs: 5_000 } : { status: 200, body: { action: 'refuse', code: 'ON_TIME' } }));
    const lines: LogLine[] = [];
    let now = 1_000;
    const hook = createBeforeSendHook(settings(r.url(), { timeoutMs: 100, breakerFailureThreshold: 3, breakerOpenMs: 10_000 }), { now: () => now, logger: recordingLogger(lines) });

    const started = performance.now();
    for (let i = 0; i < 6; i++) expect(await hook.judge(send('hi'))).toEqual({ action: 'allow' });
    // Three calls timed out (100 ms each); the other three were not made: the circuit was open.
    expect(r.calls).toHaveLength(3);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(lines.map((l) => [l.level, l.fields?.state])).toEqual([['warn', 'open']]);

    now += 10_000;
    slow = false;
    expect(await hook.judge(send('hi'))).toEqual({ action: 'refuse', code: 'ON_TIME', message: 'Refused by the before-send webhook' });
    expect(r.calls).toHaveLength(4);
    expect(lines.map((l) => l.fields?.state)).toEqual(['open', 'half-open', 'closed']);
  });

  it('asks only about the sends of its scope', async () => {
    const r = await receiver(() => ({ status: 200, body: { action: 'allow' } }));
    const hook = createBeforeSendHook(settings(r.url(), { scope: 'group' }), { now: () => 0, logger: recordingLogger([]) });
    expect([hook.covers('USER'), hook.covers('GROUP')]).toEqual([false, true]);
  });
});

describe('after-event deliveries against a real endpoint', () => {
  const receivers: WebhookReceiver[] = [];
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
  });
  const settings = (urls: AfterEventSettings['urls'], extra: Partial<AfterEventSettings> = {}): AfterEventSettings => ({
    urls, secrets: { current: NEW_SECRET, previous: OLD_SECRET }, timeoutMs: 1_000, retries: 3, retryInitialMs: 1, retryMaxMs: 5,
    breakerFailureThreshold: 50, breakerOpenMs: 30_000, ...extra,
  });
  const delivery = (eventId: string, event = 'after-send'): WebhookDelivery => ({ eventId, event, correlationId: 'c1', body: JSON.stringify({ event, event_id: eventId }), enqueuedAt: 1 });

  it('retries a failing endpoint with the same event id and bytes until it takes the event', async () => {
    let failures = 2;
    const r = await startWebhookReceiver({ secret: OLD_SECRET, reply: () => (failures-- > 0 ? { status: 503 } : { status: 204 }) });
    receivers.push(r);
    const deliverer = createAfterEventDeliverer(settings({ 'after-send': r.url('/sent') }), { now: () => 0, logger: recordingLogger([]) });
    expect(deliverer.events).toEqual(['after-send']);
    expect(await deliverer.deliver(delivery('after-send:m1'))).toBe('delivered');
    expect(r.calls.map((c) => [c.path, c.eventId, c.body])).toEqual(Array(3).fill(['/sent', 'after-send:m1', '{"event":"after-send","event_id":"after-send:m1"}']));
    // The receiver still holds the previous secret: the rotation's second signature verifies.
    expect(r.calls.every((c) => c.verified)).toBe(true);
  });

  it('gives up after the retries, at once on a 4xx, and skips an event with no endpoint', async () => {
    const r = await startWebhookReceiver({ secret: NEW_SECRET, reply: (c) => (c.path === '/gone' ? { status: 410 } : { status: 500 }) });
    receivers.push(r);
    const deliverer = createAfterEventDeliverer(settings({ 'after-send': r.url('/down'), 'after-group-change': r.url('/gone') }), { now: () => 0, logger: recordingLogger([]) });
    const down = await deliverer.deliver(delivery('after-send:m2')).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(WebhookDeliveryError);
    expect((down as WebhookDeliveryError).retriable).toBe(false);
    expect((down as Error).message).toContain('after 4 attempt(s): after-send webhook answered HTTP 500');
    const gone = await deliverer.deliver(delivery('after-group-change:m3', 'after-group-change')).catch((e: unknown) => e);
    expect((gone as Error).message).toContain('after 1 attempt(s): after-group-change webhook answered HTTP 410');
    expect([r.callsTo('/down').length, r.callsTo('/gone').length]).toEqual([4, 1]);
    expect(await deliverer.deliver(delivery('after-friend-change:m4', 'after-friend-change'))).toBe('skipped');
  });

  it('counts an open circuit as a failed attempt without calling the endpoint', async () => {
    const r = await startWebhookReceiver({ secret: NEW_SECRET, reply: () => ({ status: 502 }) });
    receivers.push(r);
    const lines: LogLine[] = [];
    const deliverer = createAfterEventDeliverer(settings({ 'after-send': r.url() }, { retries: 4, breakerFailureThreshold: 2 }), { now: () => 0, logger: recordingLogger(lines) });
    const err = await deliverer.deliver(delivery('after-send:m5')).catch((e: unknown) => e);
    expect((err as Error).message).toContain('after 5 attempt(s): after-send webhook circuit open');
    expect(r.calls).toHaveLength(2);
    expect(lines.map((l) => l.fields?.state)).toEqual(['open']);
  });
});
