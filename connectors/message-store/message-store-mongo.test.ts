import { afterEach, describe, expect, it } from 'vitest';
import type { Collection, Db, Document } from 'mongodb';
import { PlatformError } from '../../core/errors.js';
import { createMongoMessageStore } from './message-store-mongo.js';
import { msg, openTestMongo } from './testing.js';

/**
 * The writer takes E11000 for "already stored" and commits past the batch. The database can
 * answer so for messages it does not hold (FerretDB frozen and then killed under a batch in
 * flight, found by the faults bench), so the store reads back what the answer left out.
 */

/** The messages collection answers its first insertMany with a real duplicate-key error after storing only the first document. */
function firstInsertLies(db: Db): Db {
  let lied = false;
  const wrap = (coll: Collection<Document>): Collection<Document> =>
    new Proxy(coll, {
      get(target, prop, receiver) {
        if (prop !== 'insertMany' || lied) return Reflect.get(target, prop, receiver) as unknown;
        return async (docs: Document[]) => {
          lied = true;
          await target.insertMany(docs.slice(0, 1));
          // The first document again: E11000 on _id, answering for the whole batch.
          return target.insertMany(docs.slice(0, 1), { ordered: false });
        };
      },
    });
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'collection') return (name: string) => (name.endsWith('messages') ? wrap(target.collection(name)) : target.collection(name));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('message store (mongodb): a duplicate-key answer', () => {
  let close: () => Promise<void> = async () => {};
  afterEach(async () => close());

  it('fails the write retriably when a message it called a duplicate is not stored, and the retry stores it', async () => {
    const t = await openTestMongo('lying-insert');
    close = t.close;
    const store = await createMongoMessageStore({ db: firstInsertLies(t.db) });
    const batch = [msg('d:a:b', 1), msg('d:a:b', 2), msg('d:a:b', 3)];
    const failed = await store.writeBatch(batch).then(() => null, (err: unknown) => err);
    expect(failed).toBeInstanceOf(PlatformError);
    expect(failed).toMatchObject({ code: 'STORE_INCOMPLETE', retriable: true });
    expect(await store.writeBatch(batch)).toEqual({ inserted: 2, duplicates: 1 });
    expect((await store.history('d:a:b', { limit: 10 })).messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    await store.close();
  });
});
