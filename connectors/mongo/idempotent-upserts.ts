import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Document } from 'mongodb';
import { DUPLICATE_KEY } from './duplicate-key.js';
import { inChunks } from './pool.js';

/**
 * Sends upserts that may be applied twice (a `$set` of the same values, a `$max`, an update
 * conditional on being newer) in commands of at most `perCommand` statements
 * (connectors/mongo/pool.ts). Two writers inserting one new document race, and the loser's
 * statement fails with a duplicate key: it is sent once more and finds the winner's document. A
 * conditional upsert whose filter still does not match it (what is there is newer) loses again,
 * which is its answer. Any other failure is thrown.
 */
export async function idempotentUpserts<T extends Document>(collection: Collection<T>, ops: AnyBulkWriteOperation<T>[], perCommand: number): Promise<void> {
  for (const chunk of inChunks(ops, perCommand)) {
    const lost = await lostToDuplicates(collection, chunk);
    if (lost.length > 0) await lostToDuplicates(collection, lost);
  }
}

/** Runs the statements; returns those refused as duplicate keys (anything else throws). */
async function lostToDuplicates<T extends Document>(collection: Collection<T>, ops: AnyBulkWriteOperation<T>[]): Promise<AnyBulkWriteOperation<T>[]> {
  try {
    await collection.bulkWrite(ops, { ordered: false });
    return [];
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) throw err;
    const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    if (errors.some((e) => e.code !== DUPLICATE_KEY)) throw err;
    return errors.map((e) => ops[e.index]!);
  }
}
