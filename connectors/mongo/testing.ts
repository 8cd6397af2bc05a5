import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { loadConfig } from '../../core/config.js';
import { mongoClientOptions } from './pool.js';

/**
 * Test support for suites on the real stack (not a test itself): a fresh MongoDB database per
 * test, dropped on close. A missing server throws, so suites fail and never skip.
 */
export async function openTestMongo(label: string): Promise<{ db: Db; close: () => Promise<void> }> {
  const url = process.env.IM_MONGO_URL_TEST ?? 'mongodb://127.0.0.1:27017';
  // The platform's pool bounds: suites run side by side against the same FerretDB.
  const client = new MongoClient(url, mongoClientOptions(loadConfig().mongo, { serverSelectionTimeoutMS: 5_000 }));
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } catch (err) {
    throw new Error(`MongoDB is required at ${url} (IM_MONGO_URL_TEST); start it with \`make up\``, { cause: err });
  }
  const db = client.db(`im_test_${label}_${randomUUID().slice(0, 8)}`);
  return {
    db,
    close: async () => {
      await db.dropDatabase();
      await client.close();
    },
  };
}

