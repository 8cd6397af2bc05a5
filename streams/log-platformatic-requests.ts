/**
 * Broker requests left unanswered, named by API. The package ends such a request with a bare
 * "Request timed out" after 30 s and says neither which request it was nor to which broker: a
 * consumer's reopen after its process was stuck waited out one such request, and its log could
 * not tell a join held by the group coordinator from a fetch on a dead connection.
 *
 * Every request the package sends is published on its connections channel: counted by API
 * (im_kafka_requests_total), and the ones still unanswered after `overdueMs` logged once per
 * sweep, counted by API and broker.
 */
import { connectionsApiChannel } from '@platformatic/kafka';
import type { Logger } from '../core/logger.js';
import { counter } from '../core/metrics.js';

/** The APIs this project's clients send, by the key the protocol gives them. */
const API_NAMES: Record<number, string> = {
  0: 'Produce',
  1: 'Fetch',
  2: 'ListOffsets',
  3: 'Metadata',
  8: 'OffsetCommit',
  9: 'OffsetFetch',
  10: 'FindCoordinator',
  11: 'JoinGroup',
  12: 'Heartbeat',
  13: 'LeaveGroup',
  14: 'SyncGroup',
  15: 'DescribeGroups',
  16: 'ListGroups',
  18: 'ApiVersions',
  19: 'CreateTopics',
  20: 'DeleteTopics',
  22: 'InitProducerId',
  32: 'DescribeConfigs',
  33: 'AlterConfigs',
  42: 'DeleteGroups',
};

export const apiName = (key: number): string => API_NAMES[key] ?? `api ${key}`;

/**
 * Requests sent, by API: what the broker's CPU goes on. A fetch per consumer per record at low
 * rates, the produces beside them; `rate(im_kafka_requests_total[1m])` per process says which
 * consumers keep the broker busy.
 */
const sent = counter('im_kafka_requests_total', 'Kafka requests this process sent, by API (@platformatic/kafka)', ['api'] as const);
const sentByKey = new Map<number, { inc(): void }>();
const countSent = (key: number): void => {
  let child = sentByKey.get(key);
  if (!child) sentByKey.set(key, (child = sent.labels(apiName(key))));
  child.inc();
};

/** What the package publishes for each request it sends. */
interface RequestContext {
  apiKey: number;
  connection?: RequestConnection;
}

interface RequestConnection {
  host?: string;
  port?: number;
  /** 'connected' while it can still answer; a closed connection failed its requests unpublished. */
  status?: string;
}

/** Named only when a sweep reports it: nothing but a map entry per request on the hot path. */
interface Pending {
  readonly apiKey: number;
  readonly sentAt: number;
  readonly connection: RequestConnection | undefined;
  reported: boolean;
}

const ENDED = new Set(['closed', 'closing', 'error']);

export interface UnansweredRequests {
  /** Requests sent and neither answered nor failed on the wire: the tests' view. */
  pending(): number;
  /** Logs the requests newly past `overdueMs` (one line) and forgets the ones past `forgetMs`. */
  sweep(now?: number): void;
  stop(): void;
}

export interface UnansweredRequestsOptions {
  logger: Logger;
  overdueMs: number;
  /** A request the package gave up on is never answered: kept this long at most. */
  forgetMs: number;
  sweepMs: number;
}

export function watchUnansweredRequests(options: UnansweredRequestsOptions): UnansweredRequests {
  const pending = new Map<object, Pending>();
  const onSent = (message: unknown): void => {
    const context = message as RequestContext;
    countSent(context.apiKey);
    pending.set(context as object, { apiKey: context.apiKey, sentAt: Date.now(), connection: context.connection, reported: false });
  };
  // asyncStart: the answer arrived (an error code in it included). error: it failed on the wire.
  const onSettled = (message: unknown): void => void pending.delete(message as object);
  connectionsApiChannel.start.subscribe(onSent);
  connectionsApiChannel.asyncStart.subscribe(onSettled);
  connectionsApiChannel.error.subscribe(onSettled);

  const sweep = (now = Date.now()): void => {
    const overdue = new Map<string, number>();
    let oldestMs = 0;
    for (const [context, request] of pending) {
      const ageMs = now - request.sentAt;
      // A closed connection failed its requests without a word on the channel: not waiting.
      if (ageMs >= options.forgetMs || ENDED.has(request.connection?.status ?? '')) {
        pending.delete(context);
        continue;
      }
      if (request.reported || ageMs < options.overdueMs) continue;
      request.reported = true;
      const broker = request.connection?.host ? `${request.connection.host}:${request.connection.port}` : 'unknown broker';
      const label = `${apiName(request.apiKey)} to ${broker}`;
      overdue.set(label, (overdue.get(label) ?? 0) + 1);
      oldestMs = Math.max(oldestMs, ageMs);
    }
    if (overdue.size === 0) return;
    const requests = [...overdue].map(([label, count]) => `${count} × ${label}`).join(', ');
    options.logger.warn('kafka requests unanswered', { requests, overdueMs: options.overdueMs, oldestMs });
  };
  const timer = setInterval(sweep, options.sweepMs);
  timer.unref();
  return {
    pending: () => pending.size,
    sweep,
    stop() {
      clearInterval(timer);
      connectionsApiChannel.start.unsubscribe(onSent);
      connectionsApiChannel.asyncStart.unsubscribe(onSettled);
      connectionsApiChannel.error.unsubscribe(onSettled);
      pending.clear();
    },
  };
}
