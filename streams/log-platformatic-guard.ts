import { Base, GenericError, kGetConnection, kMetadata, NetworkError, type Broker, type Callback, type ClusterMetadata, type Connection, type MetadataOptions, type RetryDelayGetter } from '@platformatic/kafka';

/**
 * @platformatic/kafka 1.35 looks up a partition leader or a group coordinator in its metadata
 * and hands what it found straight to the connection pool. While a broker is coming back, the
 * coordinator or leader it names can be -1 or a node the cached metadata does not hold; the pool
 * then reads `host` of undefined and the TypeError, thrown inside a callback, ends the process
 * (seen after a broker SIGSTOP, through the admin's committed-offset listing; its issue #109
 * is the same kind). The package's 2.x line needs Node 22, so moving to it is not open here.
 *
 * This answers such a lookup with a retriable network error instead: the package's retry loop
 * (or the caller's) asks again once the metadata names a live broker. Installed once per process,
 * on the base class every client inherits from.
 */
export function guardMissingBrokerLookups(): void {
  const proto = Base.prototype as Base & { [guarded]?: true };
  if (proto[guarded]) return;
  const lookup = proto[kGetConnection];
  if (typeof lookup !== 'function') throw new Error('@platformatic/kafka changed shape: Base has no connection lookup to guard');
  proto[kGetConnection] = function (this: Base, broker: Broker | undefined, callback: Callback<Connection>): void {
    if (broker === undefined) {
      callback(new NetworkError('No such broker in the metadata (leader or coordinator not available yet).', { hasStaleMetadata: true }));
      return;
    }
    lookup.call(this, broker, callback);
  };
  proto[guarded] = true;
}

const guarded = Symbol('im.kafka.missingBrokerGuard');

/**
 * The package answers a metadata lookup from its cache plus a request for the topics it lacks,
 * and builds the answer from the cache once the request returns. When the cache was dropped in
 * between (a failure elsewhere in the client clears it, as the retries below do), the answer
 * holds only the topics the request asked for; the producer, the consumer and the admin read
 * every topic they asked for without a check, and the TypeError, thrown inside a callback, ends
 * the process (the pipeline process died so after a broker SIGCONT: `partitionsCount` of
 * undefined in the producer). An incomplete answer is asked again in full once, then is a
 * retriable stale-metadata error.
 */
export function guardIncompleteMetadata(): void {
  const proto = Base.prototype as Base & { [metadataGuarded]?: true };
  if (proto[metadataGuarded]) return;
  const lookup = proto[kMetadata];
  if (typeof lookup !== 'function') throw new Error('@platformatic/kafka changed shape: Base has no metadata lookup to guard');
  proto[kMetadata] = function (this: Base, options: MetadataOptions, callback: Callback<ClusterMetadata>): void {
    lookup.call(this, options, (error, metadata) => {
      if (error || holdsEvery(options.topics, metadata)) return callback(error, metadata);
      lookup.call(this, { ...options, forceUpdate: true }, (again, full) => {
        if (again || holdsEvery(options.topics, full)) return callback(again, full);
        callback(new NetworkError('Metadata answer without every topic asked for (a broker coming back).', { hasStaleMetadata: true }), undefined as unknown as ClusterMetadata);
      });
    });
  };
  proto[metadataGuarded] = true;
}

const metadataGuarded = Symbol('im.kafka.incompleteMetadataGuard');

/** Every topic asked for is in the answer, with each of its partitions. */
export function holdsEvery(topics: readonly string[] | undefined, metadata: ClusterMetadata | undefined): boolean {
  if (!metadata) return false;
  for (const name of topics ?? []) {
    const topic = metadata.topics.get(name);
    if (!topic) return false;
    for (let p = 0; p < topic.partitionsCount; p++) if (!topic.partitions[p]) return false;
  }
  return true;
}

/**
 * The package's retry loop resends the request it built first, with the partition leaders and
 * leader epochs its metadata held then. After the controller fenced and unfenced the broker
 * (a broker paused past its session: every leader epoch moves), each resend got
 * FENCED_LEADER_EPOCH, or a fetch answer the package could not parse, for all its retries:
 * 2.5 s per call at 250 ms apart, and a consumer needed several such calls to read again (acks
 * back 5-8 s after the broker resumed). Such a failure runs through its retries
 * `staleDelayMs` apart (a metadata request itself, resent, does learn the new leaders), with the
 * metadata dropped, so the caller's next attempt asks for leaders and epochs afresh; any other
 * failure (a broker not answering) is retried `delayMs` apart as before.
 */
export function retryDelayWithFreshMetadata(delayMs: number, staleDelayMs: number): RetryDelayGetter {
  return (client, _operation, _attempt, _retries, error) => {
    if (!resendCannotHelp(error)) return delayMs;
    if (client instanceof Base) client.clearMetadata();
    return staleDelayMs;
  };
}

/** Stale leaders or epochs, or an answer that did not parse (not one of the package's own errors). */
function resendCannotHelp(error: Error): boolean {
  if (!GenericError.isGenericError(error)) return true;
  if ((error as GenericError).findBy('hasStaleMetadata', true)) return true;
  const inner = error instanceof AggregateError ? (error.errors as unknown[]) : [];
  return inner.some((e) => e instanceof Error && !GenericError.isGenericError(e));
}
