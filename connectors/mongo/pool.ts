import type { MongoClientOptions } from 'mongodb';

/**
 * Connection sizing for every MongoClient of the platform, and the bound on update statements
 * per command. Both exist because of FerretDB 1.24 on PostgreSQL (the local stack): its `update`
 * handler keeps the PostgreSQL connection of every matched statement's query until the whole
 * command ends and needs one more connection for each write, so one command of N statements that
 * match holds N+1 connections. When the commands in flight together want more than its pool
 * (`pool_max_conns`, 50 by default) every one waits for a connection none will release: no
 * command, not even `ping`, is answered again, and PostgreSQL shows the pool's connections idle.
 * Bounded driver pools and short update commands keep the sum under the pool that
 * ops/stack sizes for it. Real MongoDB is unaffected; the bounds cost it little.
 */
export interface MongoPoolSettings {
  /** Driver connections per MongoClient (the driver's default is 100). */
  maxPoolSize: number;
  /** How long an operation waits for a free driver connection before it fails (retriable). */
  waitQueueTimeoutMs: number;
}

/** Update statements per `update` command (FerretDB holds one PostgreSQL connection per matched one). */
export const DEFAULT_UPDATES_PER_COMMAND = 16;

export function mongoClientOptions(pool: MongoPoolSettings, extra: MongoClientOptions = {}): MongoClientOptions {
  return { maxPoolSize: pool.maxPoolSize, minPoolSize: 0, waitQueueTimeoutMS: pool.waitQueueTimeoutMs, ...extra };
}

/** `items` in consecutive slices of at most `size`, in order. */
export function inChunks<T>(items: readonly T[], size: number): T[][] {
  const n = Math.max(1, Math.floor(size));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}
