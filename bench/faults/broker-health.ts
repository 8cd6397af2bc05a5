import { Kafka, logLevel, type Admin } from 'kafkajs';

/**
 * When a restarted or resumed broker is healthy again, as the SUT needs it: every partition
 * of the run's topics led and answering its offsets, and a group coordinator answering a
 * group's commits. A broker resumed after a long pause is fenced by its controller, unfenced,
 * and re-takes leadership of each partition, so "the process runs" is seconds ahead of this.
 *
 * Each probe is one attempt (no client retries) and is stamped with the time it started, so
 * the healthy time is never later than it was (by more than one probe interval): a recovery
 * counted from it is not flattered. kafkajs, whatever the platform runs, as the lag reader.
 */
export interface HealthProbe {
  startedAt: number;
  healthy: boolean;
}

/**
 * The start of the unbroken run of healthy probes that ends the list: a broker just resumed
 * answers from its old state for a moment before its controller fences it, so the first healthy
 * answer is not the one that counts. Null when the last probe failed (or none ran).
 */
export function healthySince(probes: readonly HealthProbe[]): number | null {
  let since: number | null = null;
  for (const p of probes) since = p.healthy ? (since ?? p.startedAt) : null;
  return since;
}

export class BrokerHealthProbe {
  private admin: Admin | null = null;

  constructor(
    private readonly brokers: string[],
    /** The run's topic namespace: its topics are the ones that must be led. */
    private readonly prefix: string,
    /** A group and one of its topics whose committed offsets must be readable (the coordinator loaded). */
    private readonly group: { id: string; topic: string },
  ) {}

  private async client(): Promise<Admin> {
    if (this.admin) return this.admin;
    const kafka = new Kafka({ clientId: 'bench-broker-health', brokers: this.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1_000, requestTimeout: 1_500, retry: { retries: 0 } });
    const admin = kafka.admin();
    await admin.connect();
    this.admin = admin;
    return admin;
  }

  /** One attempt: true when every partition of the namespace answers its end offsets and the group its commits. */
  async healthy(): Promise<boolean> {
    try {
      const admin = await this.client();
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(this.prefix) && !t.startsWith('__'));
      if (topics.length === 0) return false;
      const metadata = await admin.fetchTopicMetadata({ topics });
      if (metadata.topics.some((t) => t.partitions.some((p) => p.leader < 0))) return false;
      await Promise.all(topics.map((t) => admin.fetchTopicOffsets(t)));
      await admin.fetchOffsets({ groupId: this.prefix + this.group.id, topics: [this.prefix + this.group.topic] });
      return true;
    } catch {
      // A connection to a fenced or paused broker can be left broken: the next attempt starts over.
      await this.close();
      return false;
    }
  }

  /** Probes every `intervalMs` from now until stopped; `stop` resolves with every probe's start and outcome. */
  watch(intervalMs = 100): { stop: () => Promise<HealthProbe[]> } {
    const probes: HealthProbe[] = [];
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const startedAt = Date.now();
        probes.push({ startedAt, healthy: await this.healthy() });
        await new Promise((r) => setTimeout(r, Math.max(0, startedAt + intervalMs - Date.now())));
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop;
        return probes;
      },
    };
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    await admin?.disconnect().catch(() => undefined);
  }
}
