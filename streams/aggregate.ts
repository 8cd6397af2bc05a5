import { APPLIED_HEADER, type StagedStore } from './table.js';
import type { Rec } from './topology.js';

/**
 * Idempotent aggregation, by construction: every table update (`groupByKey().aggregate/count/
 * reduce`) records, beside the value, how far it has read each source of its key. The record is
 * the changelog's own (the `im-applied` header), so it is restored with the value and written in
 * the same produce: a redelivered or replayed record finds its update already there and is
 * skipped, whatever the aggregator does. The processor remembers nothing itself.
 */

/**
 * Where one update comes from. By default the record the task consumed (`topic#partition`, its
 * offset, and `n`, the update's rank among those of this key caused by that record, for a
 * flatMap or a fused processor that makes several). With `groupByKey({ sequence })`, the
 * sequence the record carries (e.g. a message's seq in its conversation), which also skips a
 * record produced twice upstream.
 */
export type UpdatePosition = { slot: string; offset: bigint; n: number } | { slot: 'seq'; seq: number };

/** What the key has applied, by slot: `"<offset>:<n>"`, or the last sequence. */
type Applied = Record<string, string>;

function parse(header: string | undefined): Applied {
  if (header === undefined) return {};
  return JSON.parse(header) as Applied;
}

/** Whether `position` comes after everything the key applied from the same slot. */
function isNew(applied: Applied, position: UpdatePosition): boolean {
  const last = applied[position.slot];
  if (last === undefined) return true;
  if (position.slot === 'seq' && 'seq' in position) return position.seq > Number(last);
  if (!('offset' in position)) return true;
  const [offset, n] = last.split(':');
  const lastOffset = BigInt(offset!);
  return position.offset > lastOffset || (position.offset === lastOffset && position.n > Number(n));
}

function format(position: UpdatePosition): string {
  return 'seq' in position ? String(position.seq) : `${position.offset}:${position.n}`;
}

/**
 * Applies one record to the table's value for its key, unless the key has applied it already.
 * `update` sees the current value (undefined: none yet). The changelog record keeps the
 * record's headers (its correlation id) beside the applied positions.
 */
export function applyUpdate(store: StagedStore<unknown>, rec: Rec<unknown>, position: UpdatePosition, update: (current: unknown, r: Rec<unknown>) => unknown): void {
  const key = rec.key;
  if (key === null) return;
  const applied = parse(store.appliedOf(key));
  if (!isNew(applied, position)) return;
  applied[position.slot] = format(position);
  store.putApplied(key, update(store.get(key), rec), { ...rec.headers, [APPLIED_HEADER]: JSON.stringify(applied) });
}
