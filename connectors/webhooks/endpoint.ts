import { CircuitBreaker, type BreakerState } from '../../core/circuit-breaker.js';
import { PlatformError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { counter, histogram } from '../../core/metrics.js';
import { EVENT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.js';

/** The events a webhook can be configured for (docs/protocol.md#webhooks). */
export const WEBHOOK_EVENTS = ['before-send', 'after-send', 'after-friend-change', 'after-group-change'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type AfterEvent = Exclude<WebhookEvent, 'before-send'>;

export interface EndpointConfig {
  url: string;
  event: WebhookEvent;
  secrets: { current: string; previous: string | null };
  timeoutMs: number;
  breakerFailureThreshold: number;
  breakerOpenMs: number;
}

export interface EndpointOptions {
  /** The caller's clock (`p.clock` in a processor): the circuit opens and half-opens by it. */
  now: () => number;
  logger: Logger;
}

/** Why a call did not get a usable answer; `retriable` says whether another attempt may help. */
export class WebhookCallError extends PlatformError {
  constructor(code: 'WEBHOOK_TIMEOUT' | 'WEBHOOK_UNREACHABLE' | 'WEBHOOK_HTTP_ERROR' | 'WEBHOOK_INVALID_ANSWER' | 'WEBHOOK_CIRCUIT_OPEN', message: string, retriable: boolean, readonly status: number | null = null) {
    super(code, message, { retriable });
    this.name = 'WebhookCallError';
  }
}

const calls = counter('im_webhook_calls_total', 'Webhook calls by event and outcome (ok, http_4xx, http_5xx, timeout, unreachable, invalid_answer, circuit_open)', ['event', 'outcome'] as const);
const callSeconds = histogram('im_webhook_call_seconds', 'Webhook call latency by event, answered or not (before-send adds it to every send)', ['event'] as const);
const circuitChanges = counter('im_webhook_circuit_transitions_total', 'Webhook circuit breaker state changes by event', ['event', 'state'] as const);

/** An answer's body is read up to this size; anything longer is not an answer. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * One configured endpoint for one event, as one processor sees it: every POST signed (see
 * signature.ts), bounded by a timeout, behind a circuit breaker that stops calling a receiver
 * that keeps failing. The breaker's changes are logged and counted once each, never per record:
 * a dead receiver must not flood the logs at the message rate.
 *
 * HTTP goes through Node's fetch, whose pool keeps connections alive between calls.
 */
export class WebhookEndpoint {
  private readonly breaker: CircuitBreaker;
  /** What the logs name: the URL without its query or credentials, which may hold tokens. */
  readonly target: string;

  constructor(readonly config: EndpointConfig, private readonly options: EndpointOptions) {
    const u = new URL(config.url);
    this.target = `${u.origin}${u.pathname}`;
    for (const outcome of ['ok', 'http_4xx', 'http_5xx', 'timeout', 'unreachable', 'invalid_answer', 'circuit_open']) calls.inc({ event: config.event, outcome }, 0);
    this.breaker = new CircuitBreaker({
      failureThreshold: config.breakerFailureThreshold,
      openMs: config.breakerOpenMs,
      now: options.now,
      onChange: (state) => this.circuitChanged(state),
    });
  }

  get circuit(): BreakerState {
    return this.breaker.state;
  }

  /**
   * POSTs `body` and hands the 2xx answer to `read`, whose throw (an answer that means nothing)
   * counts against the endpoint like a failure. Throws `WebhookCallError`: retriable for
   * timeouts, unreachable receivers, 5xx, 408 and 429; not for other 4xx and unreadable answers.
   */
  async post<T>(eventId: string, body: string, read: (answer: string) => T): Promise<T> {
    const event = this.config.event;
    if (!this.breaker.allow()) {
      calls.inc({ event, outcome: 'circuit_open' });
      throw new WebhookCallError('WEBHOOK_CIRCUIT_OPEN', `${event} webhook circuit open (${this.target})`, true);
    }
    const started = performance.now();
    try {
      const answer = await this.send(eventId, body);
      let value: T;
      try {
        value = read(answer);
      } catch (err) {
        throw new WebhookCallError('WEBHOOK_INVALID_ANSWER', `${event} webhook answered something unusable: ${(err as Error).message}`, false);
      }
      this.breaker.success();
      calls.inc({ event, outcome: 'ok' });
      return value;
    } catch (err) {
      const e = err instanceof WebhookCallError ? err : new WebhookCallError('WEBHOOK_UNREACHABLE', `${event} webhook: ${(err as Error).message}`, true);
      // A receiver that answers 4xx is up and says no: that is no reason to stop calling it.
      const receiverFault = e.code !== 'WEBHOOK_HTTP_ERROR' || e.retriable;
      if (receiverFault) this.breaker.failure();
      else this.breaker.success();
      calls.inc({ event, outcome: outcomeOf(e) });
      throw e;
    } finally {
      callSeconds.observe({ event }, (performance.now() - started) / 1000);
    }
  }

  private async send(eventId: string, body: string): Promise<string> {
    const { event, timeoutMs } = this.config;
    // The signature's time is the wall clock's: the receiver checks it against its own.
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'im-platform-webhooks',
      [EVENT_HEADER]: event,
      [EVENT_ID_HEADER]: eventId,
      [SIGNATURE_HEADER]: signatureHeader(this.config.secrets, Date.now(), body),
    };
    let response: Response;
    let text: string;
    try {
      // One deadline for the whole exchange: connecting, the answer's headers and its body.
      const signal = AbortSignal.timeout(timeoutMs);
      response = await fetch(this.config.url, { method: 'POST', headers, body, signal, redirect: 'manual' });
      text = await readCapped(response);
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new WebhookCallError('WEBHOOK_TIMEOUT', `${event} webhook did not answer within ${timeoutMs} ms`, true);
      if (err instanceof WebhookCallError) throw err;
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new WebhookCallError('WEBHOOK_UNREACHABLE', `${event} webhook unreachable${cause ? ` (${cause})` : ''}`, true);
    }
    if (response.status < 200 || response.status > 299) {
      const retriable = response.status >= 500 || response.status === 408 || response.status === 429;
      throw new WebhookCallError('WEBHOOK_HTTP_ERROR', `${event} webhook answered HTTP ${response.status}`, retriable, response.status);
    }
    return text;
  }

  private circuitChanged(state: BreakerState): void {
    const { event } = this.config;
    circuitChanges.inc({ event, state });
    const fields = { event, endpoint: this.target, state };
    if (state === 'open') this.options.logger.warn('webhook circuit opened: calls to this endpoint are skipped for a while', { ...fields, openMs: this.config.breakerOpenMs });
    else this.options.logger.info(state === 'closed' ? 'webhook circuit closed: the endpoint answers again' : 'webhook circuit half-open: one call probes the endpoint', fields);
  }
}

function outcomeOf(e: WebhookCallError): string {
  switch (e.code) {
    case 'WEBHOOK_TIMEOUT': return 'timeout';
    case 'WEBHOOK_UNREACHABLE': return 'unreachable';
    case 'WEBHOOK_INVALID_ANSWER': return 'invalid_answer';
    case 'WEBHOOK_CIRCUIT_OPEN': return 'circuit_open';
    default: return e.status !== null && e.status >= 500 ? 'http_5xx' : 'http_4xx';
  }
}

async function readCapped(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_ANSWER_BYTES) {
    await response.body?.cancel();
    throw new WebhookCallError('WEBHOOK_INVALID_ANSWER', `webhook answer of ${declared} bytes is over ${MAX_ANSWER_BYTES}`, false);
  }
  const text = await response.text();
  if (Buffer.byteLength(text) > MAX_ANSWER_BYTES) throw new WebhookCallError('WEBHOOK_INVALID_ANSWER', `webhook answer over ${MAX_ANSWER_BYTES} bytes`, false);
  return text;
}
