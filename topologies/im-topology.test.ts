import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { memoryPipelineDeps } from '../ops/platform.js';
import { topicCatalog } from '../schemas/catalog.js';
import { imTopology, PROCESSOR_NAMES } from './im-topology.js';
import { describeAsMermaid, describeTopology } from './runtime/describe.js';

const config = loadConfig({});
const topology = imTopology(memoryPipelineDeps(config), config);

describe('the platform topology', () => {
  const described = describeTopology(topology, 'im');

  it('declares every named processor, each in its own consumer group', () => {
    expect(described.map((d) => d.name)).toEqual([...PROCESSOR_NAMES]);
    expect(new Set(described.map((d) => d.consumerGroup)).size).toBe(described.length);
  });

  it('reads and writes only catalogued topics, and every command and stream topic has a consumer', () => {
    const catalog = topicCatalog();
    const used = described.flatMap((d) => [...d.sources, ...d.sinks, ...d.tables, ...d.stores]);
    for (const t of used) expect(catalog.has(t), t).toBe(true);
    const consumed = new Set(described.flatMap((d) => [...d.sources, ...d.tables]));
    for (const t of catalog.keys()) {
      if (t.startsWith('im.cmd.') || t.startsWith('im.msg.') || t.startsWith('im.push.')) expect(consumed.has(t), `${t} has no consumer`).toBe(true);
    }
  });

  it('follows one message from ingress to stamped, pushed and persisted', () => {
    const by = new Map(described.map((d) => [d.name, d]));
    expect(by.get('router')!.sinks).toContain('im.cmd.send');
    expect(by.get('message-logic')!.sources).toEqual(['im.cmd.send']);
    expect(by.get('message-logic')!.tables).toEqual(expect.arrayContaining(['im.state.relations', 'im.state.members']));
    expect(by.get('stamper')!.stores).toEqual(['im.state.sequences', 'im.state.dedup']);
    expect(by.get('push-orchestrator')!.sinks).toEqual(expect.arrayContaining(['im.push.online', 'im.push.offline']));
    expect(by.get('persistence')!.sources).toEqual(['im.msg.stamped']);
    const mermaid = describeAsMermaid(described);
    expect(mermaid).toContain('t_im_msg_stamped --> p_persistence');
  });
});
