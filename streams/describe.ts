import { type PhysicalPlan, type SubTopology, subTopologyGroup } from './plan.js';
import type { StepNode, Topology } from './topology.js';

/**
 * A topology describing itself, for the data engineers who extend it: each processor's
 * sources, tables, stores and sinks as text, and the whole graph as a Mermaid flowchart.
 */
export interface ProcessorDescription {
  name: string;
  /** The consumer group of its sub-topology; null when it only runs inlined in others. */
  consumerGroup: string | null;
  sources: string[];
  tables: string[];
  /** Private state: stores written and read back by this processor alone. */
  stores: string[];
  sinks: string[];
  /** Tables it aggregates into (`groupByKey`): state and an output, read by whoever wants the table. */
  outputTables: string[];
  steps: string[];
  /** Work on the clock (`punctuate`): `<name> every <interval> ms`. */
  punctuations: string[];
}

function steps(node: StepNode, depth = 0): string[] {
  const s = node.step;
  const label = s.kind === 'source' ? `source ${s.topic}` : s.kind === 'sink' ? `sink ${s.topic}` : s.kind === 'join' ? `join ${s.table}` : s.kind === 'aggregate' ? `${s.name} into table ${s.table}` : `${s.kind} ${s.name}`;
  return [`${'  '.repeat(depth)}${label}`, ...node.children.flatMap((c) => steps(c, depth + 1))];
}

export function describeTopology(topology: Topology, appId: string, plan: PhysicalPlan): ProcessorDescription[] {
  const groupOf = (name: string): string | null => {
    const sub = plan.subTopologies.find((s) => s.processors.includes(name));
    return sub ? subTopologyGroup(appId, sub) : null;
  };
  return [...topology.processors.values()].map((p) => ({
    name: p.name,
    consumerGroup: groupOf(p.name),
    sources: [...p.sources.keys()],
    tables: [...p.tables],
    stores: [...p.stores].filter((t) => !p.aggregates.has(t)),
    sinks: [...p.sinks].filter((t) => !p.stores.has(t)),
    outputTables: [...p.aggregates],
    steps: [...p.sources.values()].flatMap((n) => steps(n)),
    punctuations: p.punctuations.map((x) => `${x.name} every ${x.intervalMs} ms`),
  }));
}

export function describeAsText(descriptions: ProcessorDescription[]): string {
  return descriptions
    .map((d) =>
      [
        `processor ${d.name} (${d.consumerGroup ? `group ${d.consumerGroup}` : 'inlined where its input is produced'})`,
        `  sources: ${d.sources.join(', ')}`,
        `  tables:  ${d.tables.join(', ') || '-'}`,
        `  stores:  ${d.stores.join(', ') || '-'}`,
        `  sinks:   ${d.sinks.join(', ') || '-'}`,
        ...(d.outputTables.length > 0 ? [`  output tables: ${d.outputTables.join(', ')}`] : []),
        ...d.steps.map((s) => `    ${s}`),
        ...d.punctuations.map((x) => `    punctuation ${x}`),
      ].join('\n'),
    )
    .join('\n\n');
}

/**
 * The physical plan as Kafka Streams' `TopologyDescription` prints it: each sub-topology with
 * its consumer group, the topics it consumes, its processors, and the edges that stay in memory.
 */
export function describePlan(plan: PhysicalPlan, appId: string): string {
  const edges = (m: Map<string, string[]>): string => [...m].map(([t, ps]) => `${t} -> ${ps.join(', ')}`).join('; ') || '-';
  return plan.subTopologies
    .map((s: SubTopology) =>
      [
        `Sub-topology ${s.id} (consumer group ${subTopologyGroup(appId, s)})`,
        `  sources:       ${s.sources.join(', ')}`,
        `  processors:    ${s.processors.join(' -> ')}`,
        `  fused:         ${edges(s.fused)}`,
        `  after produce: ${edges(s.afterProduce)}`,
      ].join('\n'),
    )
    .join('\n\n');
}

const id = (topic: string): string => `t_${topic.replace(/[^a-zA-Z0-9]/g, '_')}`;

export function describeAsMermaid(descriptions: ProcessorDescription[], plan?: PhysicalPlan): string {
  const lines = ['flowchart LR'];
  for (const s of plan?.subTopologies ?? []) {
    lines.push(`  subgraph s${s.id}["sub-topology ${s.id}"]`);
    for (const p of s.processors) lines.push(`    p_${p.replace(/-/g, '_')}`);
    lines.push('  end');
  }
  const topics = new Set(descriptions.flatMap((d) => [...d.sources, ...d.sinks, ...d.tables, ...d.stores, ...d.outputTables]));
  for (const t of topics) lines.push(`  ${id(t)}[/"${t}"/]`);
  for (const d of descriptions) {
    lines.push(`  p_${d.name.replace(/-/g, '_')}(["${d.name}"])`);
    const p = `p_${d.name.replace(/-/g, '_')}`;
    for (const s of d.sources) lines.push(`  ${id(s)} --> ${p}`);
    for (const s of d.sinks) lines.push(`  ${p} --> ${id(s)}`);
    for (const t of d.outputTables) lines.push(`  ${p} == table ==> ${id(t)}`);
    for (const t of d.tables) lines.push(`  ${id(t)} -. table .-> ${p}`);
    for (const t of d.stores) lines.push(`  ${p} <-. store .-> ${id(t)}`);
  }
  return lines.join('\n');
}
