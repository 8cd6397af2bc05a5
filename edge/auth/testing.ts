import { MongoClient, type Db } from 'mongodb';
import type { HttpRequest, HttpResponse, HttpRoute } from '../http/routes.js';

/**
 * Test support for the auth suites (not a test itself). `openTestDb` connects to the real
 * MongoDB at IM_MONGO_URL_TEST and throws when it is absent: suites fail, they never skip.
 */
export async function openTestDb(label: string): Promise<{ db: Db; close: () => Promise<void> }> {
  const url = process.env.IM_MONGO_URL_TEST ?? 'mongodb://127.0.0.1:27017';
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`MongoDB is required at ${url} (IM_MONGO_URL_TEST); start it with \`make up\``, { cause: err });
  }
  const name = `im_test_${label}_${process.pid}_${Date.now().toString(36)}`;
  const db = client.db(name);
  return {
    db,
    close: async () => {
      await db.dropDatabase();
      await client.close();
    },
  };
}

/** Calls a route's handler as the gateway would, without a socket. */
export function callRoute(
  routes: HttpRoute[],
  method: HttpRequest['method'],
  path: string,
  body: unknown = null,
  remoteAddress = '192.0.2.1',
): Promise<HttpResponse> {
  const route = routes.find((r) => r.method === method && r.path === path);
  if (!route) throw new Error(`no route ${method} ${path}`);
  return route.handler({ method, path, params: {}, query: {}, headers: {}, body, remoteAddress, userId: null });
}
