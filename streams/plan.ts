import type { ProcessorDefinition, Topology } from './topology.js';

/**
 * The physical plan: how the logical processors of a topology run. Like Kafka Streams, the
 * runtime groups processors joined by an internal topic into one sub-topology: one consumer
 * group, one task per partition number, and records on the edges between its processors
 * handed over in memory instead of crossing the broker.
 *
 * A topic stays a real hop when it is a contract (`contract` in `schemas/topics.json`: read or
 * written outside the topology), when it is state (a table or a store changelog), or for a
 * record whose key belongs to another task than the one producing it. Fused topics are still
 * consumed by their sub-topology, for the records that take that road.
 *
 * A processor with no outputs, no state and no tables (a pure side effect, like handing a
 * frame to a gateway) is inlined into every sub-topology that feeds it, and runs there only
 * after the task's outputs are acknowledged by the log: an effect never precedes the
 * durability of what caused it. It keeps a consumer group of its own only when some of its
 * producers run elsewhere.
 */
export interface SubTopology {
  /** 0, 1, ... in the order of the topology's declaration. */
  id: number;
  /** Logical processors in the task, in declaration order. */
  processors: string[];
  /** Topics the sub-topology consumes (its consumer group subscribes to these). */
  sources: string[];
  /** Fused edges: a record for one of these topics goes straight to these member processors. */
  fused: Map<string, string[]>;
  /** Side-effect processors inlined here, by the topic that feeds them; run after produce. */
  afterProduce: Map<string, string[]>;
}

export interface PlanOptions {
  /** The processors this process runs; default all. The plan fuses only within them. */
  processors?: readonly string[];
  /** Topics that must stay real hops (read or written outside the topology). */
  isContract: (topic: string) => boolean;
}

export interface PhysicalPlan {
  subTopologies: SubTopology[];
}

/** A processor whose only job is a side effect: inlined wherever its input is produced. */
export function isEffectOnly(def: ProcessorDefinition): boolean {
  return def.sinks.size === 0 && def.stores.size === 0 && def.tables.size === 0 && def.sources.size === 1;
}

export function planTopology(topology: Topology, options: PlanOptions): PhysicalPlan {
  const all = [...topology.processors.values()];
  const selectedNames = new Set(options.processors ?? all.map((p) => p.name));
  const selected = all.filter((p) => selectedNames.has(p.name));
  const stateTopics = new Set(all.flatMap((p) => [...p.tables, ...p.stores]));
  const fusible = (topic: string): boolean => !options.isContract(topic) && !stateTopics.has(topic);
  const outputs = (p: ProcessorDefinition): string[] => [...p.sinks].filter((t) => !p.stores.has(t));
  const producersOf = (topic: string, among: ProcessorDefinition[]) => among.filter((p) => outputs(p).includes(topic));

  // Union-find over the selected processors joined by a fusible topic (effect-only consumers
  // excepted: they are copied into their producers' sub-topologies instead).
  const parent = new Map(selected.map((p) => [p.name, p.name]));
  const find = (n: string): string => {
    let root = n;
    while (parent.get(root) !== root) root = parent.get(root)!;
    parent.set(n, root);
    return root;
  };
  const union = (a: string, b: string): void => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent.set(rb, ra);
  };
  const inlinedEverywhere = new Set<string>();
  for (const consumer of selected) {
    for (const topic of consumer.sources.keys()) {
      if (!fusible(topic)) continue;
      const producers = producersOf(topic, selected);
      if (isEffectOnly(consumer)) {
        // Its own group is needed only for records produced where it is not inlined.
        if (producers.length > 0 && producersOf(topic, all).every((p) => selectedNames.has(p.name))) inlinedEverywhere.add(consumer.name);
        continue;
      }
      for (const p of producers) union(p.name, consumer.name);
    }
  }

  const groups = new Map<string, ProcessorDefinition[]>();
  for (const p of selected) {
    if (inlinedEverywhere.has(p.name)) continue;
    const root = find(p.name);
    const list = groups.get(root);
    if (list) list.push(p);
    else groups.set(root, [p]);
  }

  const subTopologies = [...groups.values()].map((members, id): SubTopology => {
    const names = new Set(members.map((m) => m.name));
    const fused = new Map<string, string[]>();
    const afterProduce = new Map<string, string[]>();
    for (const topic of new Set(members.flatMap(outputs))) {
      if (!fusible(topic)) continue;
      for (const consumer of selected) {
        if (!consumer.sources.has(topic)) continue;
        const into = names.has(consumer.name) ? fused : isEffectOnly(consumer) ? afterProduce : undefined;
        if (!into) continue;
        into.set(topic, [...(into.get(topic) ?? []), consumer.name]);
      }
    }
    const sources = [...new Set(members.flatMap((m) => [...m.sources.keys()]))];
    return { id, processors: members.map((m) => m.name), sources, fused, afterProduce };
  });
  return { subTopologies };
}

/** The consumer group of a sub-topology: named after its processors, so plans never share one. */
export function subTopologyGroup(appId: string, s: Pick<SubTopology, 'processors'>): string {
  return `${appId}.${s.processors.join('+')}`;
}
