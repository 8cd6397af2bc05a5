/**
 * Runs the calls given to it one after another. FerretDB 1.24 stopped answering every client
 * (its PostgreSQL connections idle, its own handlers stuck) when several bulk upserts ran at once,
 * on both its SQLite and PostgreSQL backends; writers that can run concurrently (batches of
 * several partitions) go through one of these per store. Bulk writes carry whole batches, so
 * throughput stays with the batch size, not the concurrency.
 */
export function oneAtATime(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
