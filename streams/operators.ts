import { applyUpdate, type UpdatePosition } from './aggregate.js';
import { StagedStore } from './table.js';
import type { Emit, ProcessContext, Rec, StepNode } from './topology.js';

/**
 * Operator interpretation: walks one record through a processor's declared chain and collects
 * what it emits. No I/O happens here; the task decides where each output goes (a topic, or a
 * processor of the same task) and when it is durable.
 */
export interface Output {
  topic: string;
  key: string | null;
  value: unknown;
  headers: Record<string, string>;
  timestamp: number;
}

export type BatchStep = Extract<StepNode['step'], { kind: 'forEachBatch' }>;

/** Everything one processing attempt of one record produced; discarded if the attempt fails. */
export interface Attempt {
  outputs: Output[];
  stores: Map<string, StagedStore<unknown>>;
  /** Records that reached a forEachBatch step, handed over once the whole batch is through. */
  batched: { step: BatchStep; rec: Rec<unknown> }[];
  /** Table updates made, by `<table>|<key>`: the rank of the next one from the same consumed record. */
  updates: Map<string, number>;
}

export const newAttempt = (): Attempt => ({ outputs: [], stores: new Map(), batched: [], updates: new Map() });

/** What the task tells a chain about state beyond the processor's own stores. */
export interface ChainState {
  /** Looks a table row up for a join step. */
  lookup(table: string, key: string): unknown;
  /** Updates of `<table>|<key>` that earlier attempts made from the consumed record being processed (fused processors). */
  updatesBefore(tableKey: string): number;
}

export async function runChain(node: StepNode, rec: Rec<unknown>, ctx: ProcessContext, attempt: Attempt, state: ChainState): Promise<void> {
  const step = node.step;
  const next = async (r: Rec<unknown>): Promise<void> => {
    for (const child of node.children) await runChain(child, r, ctx, attempt, state);
  };
  switch (step.kind) {
    case 'source':
      return next(rec);
    case 'filter':
      return step.fn(rec, ctx) ? next(rec) : undefined;
    case 'map':
      return next(step.fn(rec, ctx));
    case 'flatMap':
      for (const r of step.fn(rec, ctx)) await next(r);
      return;
    case 'join': {
      const key = step.keyOf(rec);
      const joined = step.joiner(rec, key === null ? undefined : state.lookup(step.table, key), ctx);
      return joined ? next(joined) : undefined;
    }
    case 'branch': {
      const arm = step.predicates.findIndex((p) => p(rec, ctx));
      if (arm >= 0) await runChain(node.children[arm]!, rec, ctx, attempt, state);
      return;
    }
    case 'process': {
      const emits: Emit[] = await step.fn(rec, ctx);
      for (const e of emits) attempt.outputs.push({ topic: e.topic, key: e.key, value: e.value, headers: { ...rec.headers, ...e.headers }, timestamp: rec.timestamp });
      return;
    }
    case 'forEachBatch':
      attempt.batched.push({ step, rec });
      return;
    case 'aggregate': {
      if (rec.key === null) return;
      const store = ctx.store({ kind: 'store', topic: step.table as never });
      if (!(store instanceof StagedStore)) throw new Error(`processor ${ctx.processor}: table ${step.table} is not staged`);
      let position: UpdatePosition;
      if (step.sequence) position = { slot: 'seq', seq: step.sequence(rec) };
      else {
        const tableKey = `${step.table}|${rec.key}`;
        const made = attempt.updates.get(tableKey) ?? 0;
        attempt.updates.set(tableKey, made + 1);
        position = { slot: `${ctx.source.topic}#${ctx.source.partition}`, offset: BigInt(ctx.source.offset), n: state.updatesBefore(tableKey) + made };
      }
      applyUpdate(store as StagedStore<unknown>, rec, position, step.update);
      return;
    }
    case 'sink':
      attempt.outputs.push({ topic: step.topic, key: step.keyOf ? step.keyOf(rec) : rec.key, value: rec.value, headers: rec.headers, timestamp: rec.timestamp });
      return;
  }
}
