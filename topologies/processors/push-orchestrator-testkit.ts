import type { TopicName, TopicValues } from '../../schemas/types.generated.js';
import { StreamsApp, Topology, type ProcessorBuilder } from '../../streams/index.js';
import { collect, type Collected, type EngineHarness } from '../../streams/testing.js';

/**
 * Test kit for this team's processors: runs one processor through `StreamsApp` on an engine
 * harness, feeds topics and collects outputs. Everything started is stopped by `close()`.
 */
export const testRuntime = { maxRetries: 2, retryInitialMs: 5, retryMaxMs: 20, partitionsConcurrency: 4 };

export class ProcessorKit {
  private readonly cleanups: (() => Promise<void>)[] = [];
  constructor(readonly h: EngineHarness) {}

  async start(name: string, declare: (p: ProcessorBuilder) => void): Promise<StreamsApp> {
    const app = new StreamsApp(new Topology(`test-${name}`).processor(name, declare), { log: this.h.log, serde: this.h.serde, appId: `t-${name}`, runtime: testRuntime });
    await app.start();
    this.cleanups.push(() => app.stop());
    return app;
  }

  async produce<T extends TopicName>(topic: T, records: { key: string | null; value: TopicValues[T] | null }[]): Promise<void> {
    const producer = await this.h.log.producer();
    const messages = await Promise.all(
      records.map(async (r) => ({ topic, key: r.key, value: r.value === null ? null : await this.h.serde.encode(topic, r.value), headers: {}, timestamp: Date.now() })),
    );
    await producer.send(messages);
    await producer.close();
  }

  async collect<T extends TopicName>(topic: T): Promise<Collected<TopicValues[T]>> {
    const c = await collect(this.h, topic);
    this.cleanups.push(() => c.stop());
    return c;
  }

  onClose(fn: () => Promise<void>): void {
    this.cleanups.push(fn);
  }

  async close(): Promise<void> {
    for (const c of this.cleanups.splice(0).reverse()) await c();
    await this.h.close();
  }
}

/** Opens a harness with `topics` created. */
export async function openKit(create: () => Promise<EngineHarness>, topics: TopicName[]): Promise<ProcessorKit> {
  const h = await create();
  await h.createTopics(topics);
  return new ProcessorKit(h);
}
