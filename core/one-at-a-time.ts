/**
 * Runs the calls given to it one after another, each whether the one before failed or not.
 * For clients that break under concurrent calls: FerretDB 1.24 under concurrent bulk upserts
 * (the message store, the mirror), kafkajs's admin under concurrent offset look-ups, librdkafka's
 * admin calls holding libuv's thread pool that its consumers need.
 */
export function oneAtATime(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
