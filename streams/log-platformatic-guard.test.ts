import { describe, expect, it } from 'vitest';
import { Admin, Consumer, kGetConnection, MultipleErrors, NetworkError, Producer, ProtocolError, TimeoutError, type Broker, type Connection } from '@platformatic/kafka';
import { guardMissingBrokerLookups, retryDelayWithFreshMetadata } from './log-platformatic-guard.js';

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
