import { mkdirSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../core/config.js';
import { imTopology } from '../../topologies/im-topology.js';
import { memoryPipelineDeps } from '../platform.js';
import { describeAsMermaid, describeAsText, describePlan, describeTopology, planFor } from '../../streams/index.js';

/**
 * `make topology`: the platform's topology describing itself, for data engineers: the physical
 * plan (sub-topologies, their consumer groups, the edges kept in memory), then each logical
 * processor's sources, tables, stores, sinks and operator chain, plus a Mermaid flowchart in
 * docs/topology.mmd. Only the declaration is built; nothing runs.
 */
const config = loadConfig();
const topology = imTopology(memoryPipelineDeps(config), config);
// IM_PROCESSORS: the plan of one process of a split deployment (printed only; the document
// shows the whole platform in one process).
const selection = config.processors.includes('all') ? undefined : config.processors;
const plan = planFor(topology, selection);
const descriptions = describeTopology(topology, config.appId, plan);
process.stdout.write(describePlan(plan, config.appId) + '\n\n' + describeAsText(descriptions) + '\n');
if (!selection) {
  mkdirSync(new URL('../../docs/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../../docs/topology.mmd', import.meta.url), describeAsMermaid(descriptions, plan) + '\n');
  process.stdout.write('\nwrote docs/topology.mmd\n');
}
