import { MongoClient } from 'mongodb';
import { mongoClientOptions } from '../connectors/mongo/pool.js';

/**
 * True when the MongoDB endpoint answers a ping (and, given a database, a one-document read
 * there) within the time. Not a count: FerretDB counts by reading every document, which takes
 * seconds on a bench's database while the endpoint is perfectly alive.
 */
export async function mongoAnswers(url: string, timeoutMs = 5000, db?: string): Promise<boolean> {
  const client = new MongoClient(url, mongoClientOptions({ maxPoolSize: 1, waitQueueTimeoutMs: timeoutMs }, { serverSelectionTimeoutMS: timeoutMs, socketTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs }));
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    if (db) await client.db(db).collection('messages').findOne({}, { projection: { _id: 1 } });
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}
