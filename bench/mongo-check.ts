import { mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { sleep } from './clock.js';
import { ManagedProcess } from './sut.js';

/** True when the MongoDB endpoint answers a ping (and, given a database, a count there) within the time. */
export async function mongoAnswers(url: string, timeoutMs = 5000, db?: string): Promise<boolean> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: timeoutMs, socketTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    if (db) await client.db(db).collection('messages').estimatedDocumentCount();
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * The bench's own FerretDB from the stack's cached binary, on another loopback port with fresh
 * data: FerretDB's SQLite handler has stopped answering (port open, commands never answered)
 * under the persistence writer's load, and the shared instance must not hang for others.
 */
export async function privateFerretDb(port: number, log: (s: string) => void): Promise<{ url: string; proc: ManagedProcess }> {
  const bin = join(process.env.IM_STACK_CACHE ?? join(homedir(), '.cache/im-stack'), 'bin/ferretdb');
  // A fresh directory each run: a database that hung in an earlier run must not carry over.
  const dir = join(tmpdir(), `im-bench-ferretdb-${port}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  const proc = new ManagedProcess('ferretdb-bench', bin, ['--handler=sqlite', `--sqlite-url=file:${dir}/`, `--listen-addr=127.0.0.1:${port}`, '--telemetry=disable', '--debug-addr=-', `--state-dir=${dir}`, '--log-level=WARN'], {});
  const url = `mongodb://127.0.0.1:${port}`;
  for (let i = 0; i < 60; i++) {
    if (!proc.alive) throw new Error(`private FerretDB exited: ${proc.output}`);
    if (await mongoAnswers(url, 1000)) {
      log(`[stack] private FerretDB for the SUT at ${url}`);
      return { url, proc };
    }
    await sleep(500);
  }
  throw new Error('private FerretDB did not start');
}
