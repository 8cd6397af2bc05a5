import { describe, expect, it } from 'vitest';
import { logContractCases } from './log-contract.cases.js';
import { MemoryLog } from './log-memory.js';
import { namespacedLog } from './log-namespace.js';

logContractCases('memory', async () => new MemoryLog());
logContractCases('memory under a namespace', async () => namespacedLog(new MemoryLog(), 'ns-a.'));

describe('namespaced log', () => {
  it('lists and deletes only the topics and groups under its prefix, by their logical names', async () => {
    const shared = new MemoryLog();
    const mine = namespacedLog(shared, 'ns-a.');
    const theirs = namespacedLog(shared, 'ns-b.');
    const topic = { name: 'chat', partitions: 1, replicationFactor: 1, config: {} };
    await mine.createTopics([topic]);
    await theirs.createTopics([topic]);
    const producer = await shared.producer();
    await producer.send([{ topic: 'ns-b.chat', key: 'k', value: Buffer.from('x'), headers: {}, timestamp: 0 }]);
    let consumed = false;
    const reader = theirs.consumer({ groupId: 'reader', topics: ['chat'], fromBeginning: true, commit: true, eachBatch: async () => void (consumed = true) });
    await reader.start();
    await expect.poll(() => consumed).toBe(true);
    await reader.stop();

    expect(await mine.listTopics()).toEqual(['chat']);
    expect(await mine.listGroups()).toEqual([]);
    expect(await theirs.listGroups()).toEqual(['reader']);
    expect(await theirs.committedOffsets('reader', 'chat')).toEqual(new Map([[0, '1']]));
    expect(await theirs.describeTopic('chat')).toEqual({ name: 'chat', partitions: 1, config: {} });

    await mine.deleteTopics(['chat']);
    await mine.deleteGroups(['reader']);
    expect(await shared.listTopics()).toEqual(['ns-b.chat']);
    expect(await shared.listGroups()).toEqual(['ns-b.reader']);
  });
});
