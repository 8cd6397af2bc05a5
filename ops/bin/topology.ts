import { mkdirSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../core/config.js';
import { imTopology } from '../../topologies/im-topology.js';
import { memoryPipelineDeps } from '../platform.js';
import { describeAsMermaid, describeAsText, describeTopology } from '../../topologies/runtime/describe.js';

/**
 * `make topology`: the platform's topology describing itself, for data engineers: each
 * processor's consumer group, sources, tables, stores, sinks and operator chain, plus a
 * Mermaid flowchart in docs/topology.mmd. Only the declaration is built; nothing runs.
 */
const config = loadConfig();
const topology = imTopology(memoryPipelineDeps(config), config);
const descriptions = describeTopology(topology, config.appId);
process.stdout.write(describeAsText(descriptions) + '\n');
mkdirSync(new URL('../../docs/', import.meta.url), { recursive: true });
writeFileSync(new URL('../../docs/topology.mmd', import.meta.url), describeAsMermaid(descriptions) + '\n');
process.stdout.write('\nwrote docs/topology.mmd\n');
