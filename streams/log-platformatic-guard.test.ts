import { describe, expect, it } from 'vitest';
import { Admin, Base, Consumer, kGetConnection, kMetadata, MultipleErrors, NetworkError, Producer, ProtocolError, TimeoutError, type Broker, type Callback, type ClusterMetadata, type ClusterTopicMetadata, type Connection, type MetadataOptions } from '@platformatic/kafka';
import { guardIncompleteMetadata, guardMissingBrokerLookups, holdsEvery, retryDelayWithFreshMetadata } from './log-platformatic-guard.js';

const lookupMissing = (client: Admin | Consumer | Producer): Promise<Error | null> =>
  new Promise((resolve) => client[kGetConnection](undefined as unknown as Broker, (error: Error | null, _c?: Connection) => resolve(error)));

describe('a leader or coordinator missing from the metadata (broker coming back)', () => {
  it('is a retriable network error for every client, not a TypeError that ends the process', async () => {
    guardMissingBrokerLookups();
    guardMissingBrokerLookups(); // a second install is a no-op, not a second wrapper
    const options = { clientId: 'guard-test', bootstrapBrokers: ['127.0.0.1:1'] };
    const clients = [
      new Admin(options),
      new Producer(options),
      new Consumer({ ...options, groupId: `guard-test-${process.pid}-${Date.now()}` }),
    ];
    try {
      for (const client of clients) {
        const error = await lookupMissing(client);
        expect(error).toBeInstanceOf(NetworkError);
        expect((error as NetworkError).canRetry).toBe(true);
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

describe('a retry inside the package', () => {
  it('comes quickly, with the metadata dropped, where resending the same request cannot help; paced otherwise', async () => {
    const admin = new Admin({ clientId: 'retry-test', bootstrapBrokers: ['127.0.0.1:1'] });
    let cleared = 0;
    admin.clearMetadata = () => void cleared++;
    const delay = retryDelayWithFreshMetadata(250, 50);
    const at = (error: Error) => delay(admin, 'listOffsets', 1, 10, error);
    try {
      const fenced = new MultipleErrors('Received response with error', [new ProtocolError('FENCED_LEADER_EPOCH')]);
      expect(at(fenced)).toBe(50);
      expect(at(new NetworkError('No such broker', { hasStaleMetadata: true }))).toBe(50);
      // An answer the package could not parse (seen after a broker's epochs moved).
      expect(at(new TypeError("Cannot destructure property 'id'"))).toBe(50);
      expect(at(new MultipleErrors('fetch failed', [new RangeError('Out of bounds.')]))).toBe(50);
      expect(cleared).toBe(4);
      // A broker that does not answer: resending later is the remedy.
      expect(at(new TimeoutError('Request timed out'))).toBe(250);
      expect(at(new MultipleErrors('Received response with error', [new ProtocolError('REQUEST_TIMED_OUT')]))).toBe(250);
      expect(cleared).toBe(4);
    } finally {
      await admin.close();
    }
  });
});

describe('a metadata answer missing a topic asked for (its cache dropped while the request was out)', () => {
  const topic = (partitionsCount: number, present = partitionsCount): ClusterTopicMetadata => ({
    id: 't',
    partitionsCount,
    lastUpdate: 0,
    partitions: Array.from({ length: present }, () => ({ leader: 1, leaderEpoch: 0, replicas: [1], isr: [1], offlineReplicas: [] })),
  });
  const answer = (topics: Record<string, ClusterTopicMetadata>): ClusterMetadata => ({ id: 'c', brokers: new Map(), controllerId: 1, lastUpdate: 0, topics: new Map(Object.entries(topics)) });

  it('is complete only with every topic and every partition', () => {
    expect(holdsEvery(['a', 'b'], answer({ a: topic(2), b: topic(1) }))).toBe(true);
    expect(holdsEvery(['a', 'b'], answer({ a: topic(2) }))).toBe(false);
    expect(holdsEvery(['a'], answer({ a: topic(3, 2) }))).toBe(false);
    expect(holdsEvery([], answer({}))).toBe(true);
  });

  it('is asked again in full, then is a retriable stale-metadata error, never handed on', async () => {
    // The package's own lookup, replaced before the guard wraps it: each call takes the next answer.
    const answers: ClusterMetadata[] = [];
    const asked: MetadataOptions[] = [];
    (Base.prototype as unknown as Record<symbol, unknown>)[kMetadata] = function (options: MetadataOptions, callback: Callback<ClusterMetadata>): void {
      asked.push(options);
      callback(null, answers.shift()!);
    };
    guardIncompleteMetadata();
    guardIncompleteMetadata(); // a second install is a no-op, not a second wrapper
    const producer = new Producer({ clientId: 'metadata-guard-test', bootstrapBrokers: ['127.0.0.1:1'] });
    const lookup = (topics: string[]): Promise<[Error | null, ClusterMetadata | undefined]> =>
      new Promise((resolve) => producer[kMetadata]({ topics }, (error, metadata) => resolve([error, metadata])));
    try {
      answers.push(answer({ b: topic(1) }), answer({ a: topic(2), b: topic(1) }));
      const [healed, full] = await lookup(['a', 'b']);
      expect(healed).toBeNull();
      expect([...full!.topics.keys()].sort()).toEqual(['a', 'b']);
      expect(asked.map((o) => o.forceUpdate ?? false)).toEqual([false, true]);

      answers.push(answer({ b: topic(1) }), answer({ b: topic(1) }));
      const [error, none] = await lookup(['a', 'b']);
      expect(error).toBeInstanceOf(NetworkError);
      expect((error as NetworkError).canRetry).toBe(true);
      expect(none).toBeUndefined();
      expect(asked).toHaveLength(4);
    } finally {
      await producer.close();
    }
  });
});
