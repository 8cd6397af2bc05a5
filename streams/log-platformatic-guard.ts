import { Base, kGetConnection, NetworkError, type Broker, type Callback, type Connection } from '@platformatic/kafka';

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
      callback(new NetworkError('No such broker in the metadata (leader or coordinator not available yet).'));
      return;
    }
    lookup.call(this, broker, callback);
  };
  proto[guarded] = true;
}

const guarded = Symbol('im.kafka.missingBrokerGuard');
