import type { Logger } from '../../core/logger.js';
import { counter } from '../../core/metrics.js';
import type { HeartbeatResult, Presence, PresenceEntry } from './presence.js';

export const presenceMetrics = {
  rebuilds: counter('im_presence_rebuilds_total', 'Presence syncs that found open connections missing from the store (restarted or flushed) and re-created them, by trigger', ['trigger']),
  recreated: counter('im_presence_entries_recreated_total', 'Presence entries of open connections re-created in the store', []),
  removed: counter('im_presence_entries_removed_total', 'Presence entries removed because the gateway no longer had their connection (a predecessor\'s, or a missed disconnect)', []),
};

export const SYNC_TRIGGERS = ['start', 'heartbeat', 'reconnect'] as const;
export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];

export interface PresenceSyncOptions {
  presence: Presence;
  gatewayId: string;
  /** The gateway's open connections, read at each sync: the truth the store is rebuilt from. */
  entries: () => PresenceEntry[];
  /** The group conversations with a subscriber on the gateway, registered again before the entries. */
  conversations?: () => string[];
  /** Whether the gateway still has the connection (it has not gone through its close handler). */
  isOpen: (connectionId: string) => boolean;
  logger: Logger;
}

export interface PresenceSync {
  /** One sync now; rejects when the store fails (start-up wants to know). */
  run(trigger: SyncTrigger): Promise<HeartbeatResult>;
  /** Syncs every `intervalMs` and at once whenever the store reconnects; failures are logged. */
  start(intervalMs: number): void;
  /** No more syncs; resolves once one in flight is done, so none writes after the gateway leaves. */
  stop(): Promise<void>;
}

/**
 * Keeps a gateway's presence equal to its open connections: the heartbeat re-writes them all,
 * so presence lost with a Redis restart comes back on the reconnect (or the next heartbeat at
 * the latest) instead of staying empty while every socket is open. One log line per rebuild.
 */
export function createPresenceSync(o: PresenceSyncOptions): PresenceSync {
  // Exported at 0 before any rebuild: a series first scraped at 1 shows Prometheus no increase,
  // and ImPresenceRebuilt would miss the first (often the only) rebuild after a Redis restart.
  for (const trigger of SYNC_TRIGGERS) presenceMetrics.rebuilds.inc({ trigger }, 0);
  let running: Promise<HeartbeatResult> | null = null;
  let queued: Promise<HeartbeatResult> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => void) | null = null;

  const once = async (trigger: SyncTrigger): Promise<HeartbeatResult> => {
    const entries = o.entries();
    const result = await o.presence.heartbeat(o.gatewayId, entries, o.conversations?.() ?? []);
    // A connection that closed while the heartbeat wrote its entry may have been written back
    // after its disconnect: disconnect it again, or its entry would outlive it.
    const closed = entries.filter((e) => !o.isOpen(e.connectionId));
    await Promise.all(closed.map((e) => o.presence.disconnect(e.userId, e.connectionId).catch((err: unknown) => o.logger.warn('presence disconnect failed', { err }))));
    if (result.recreated > 0) {
      presenceMetrics.rebuilds.inc({ trigger });
      presenceMetrics.recreated.inc(result.recreated);
    }
    if (result.removed > 0) presenceMetrics.removed.inc(result.removed);
    const fields = { gatewayId: o.gatewayId, trigger, open: entries.length, recreated: result.recreated, removed: result.removed };
    if (result.recreated > 0) o.logger.warn('presence rebuilt from the open connections (the store had lost them)', fields);
    else if (result.removed > 0) o.logger.info('stale presence entries removed', fields);
    return result;
  };

  const run = (trigger: SyncTrigger): Promise<HeartbeatResult> => {
    if (!running) {
      running = once(trigger).finally(() => (running = null));
      return running;
    }
    // One more after the current one (its snapshot may predate the trigger); never a pile-up.
    queued ??= running.catch(() => undefined).then(() => {
      queued = null;
      return run(trigger);
    });
    return queued;
  };

  const background = (trigger: SyncTrigger): void => {
    run(trigger).catch((err: unknown) => o.logger.warn('presence heartbeat failed', { err, trigger }));
  };

  return {
    run,
    start(intervalMs) {
      timer = setInterval(() => background('heartbeat'), intervalMs);
      unsubscribe = o.presence.onReconnect(() => background('reconnect'));
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      unsubscribe?.();
      unsubscribe = null;
      await (queued ?? running)?.catch(() => undefined);
    },
  };
}
