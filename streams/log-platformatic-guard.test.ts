import { describe, expect, it } from 'vitest';
import { Admin, Consumer, kGetConnection, NetworkError, Producer, type Broker, type Connection } from '@platformatic/kafka';
import { guardMissingBrokerLookups } from './log-platformatic-guard.js';

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
