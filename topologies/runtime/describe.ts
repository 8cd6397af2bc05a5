import type { StepNode, Topology } from './topology.js';

/**
 * A topology describing itself, for the data engineers who extend it: each processor's
 * sources, tables, stores and sinks as text, and the whole graph as a Mermaid flowchart.
 */
export interface ProcessorDescription {
  name: string;
  consumerGroup: string;
  sources: string[];
  tables: string[];
  stores: string[];
  sinks: string[];
  steps: string[];
}

function steps(node: StepNode, depth = 0): string[] {
  const s = node.step;
  const label = s.kind === 'source' ? `source ${s.topic}` : s.kind === 'sink' ? `sink ${s.topic}` : s.kind === 'join' ? `join ${s.table}` : `${s.kind} ${s.name}`;
  return [`${'  '.repeat(depth)}${label}`, ...node.children.flatMap((c) => steps(c, depth + 1))];
}

export function describeTopology(topology: Topology, appId: string): ProcessorDescription[] {
  return [...topology.processors.values()].map((p) => ({
    name: p.name,
    consumerGroup: `${appId}.${p.name}`,
    sources: [...p.sources.keys()],
    tables: [...p.tables],
    stores: [...p.stores],
    sinks: [...p.sinks].filter((t) => !p.stores.has(t)),
    steps: [...p.sources.values()].flatMap((n) => steps(n)),
  }));
}

export function describeAsText(descriptions: ProcessorDescription[]): string {
  return descriptions
    .map((d) =>
      [
        `processor ${d.name} (group ${d.consumerGroup})`,
        `  sources: ${d.sources.join(', ')}`,
        `  tables:  ${d.tables.join(', ') || '-'}`,
        `  stores:  ${d.stores.join(', ') || '-'}`,
        `  sinks:   ${d.sinks.join(', ') || '-'}`,
        ...d.steps.map((s) => `    ${s}`),
      ].join('\n'),
    )
    .join('\n\n');
}

const id = (topic: string): string => `t_${topic.replace(/[^a-zA-Z0-9]/g, '_')}`;

export function describeAsMermaid(descriptions: ProcessorDescription[]): string {
  const lines = ['flowchart LR'];
  const topics = new Set(descriptions.flatMap((d) => [...d.sources, ...d.sinks, ...d.tables, ...d.stores]));
  for (const t of topics) lines.push(`  ${id(t)}[/"${t}"/]`);
  for (const d of descriptions) {
    lines.push(`  p_${d.name.replace(/-/g, '_')}(["${d.name}"])`);
    const p = `p_${d.name.replace(/-/g, '_')}`;
    for (const s of d.sources) lines.push(`  ${id(s)} --> ${p}`);
    for (const s of d.sinks) lines.push(`  ${p} --> ${id(s)}`);
    for (const t of d.tables) lines.push(`  ${id(t)} -. table .-> ${p}`);
    for (const t of d.stores) lines.push(`  ${p} <-. store .-> ${id(t)}`);
  }
  return lines.join('\n');
}
