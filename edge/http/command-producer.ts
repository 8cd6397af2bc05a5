import type { TopicSerde } from '../../schemas/serde.js';
import type { TopicName, TopicValues } from '../../schemas/types.generated.js';
import type { LogProducer } from '../../streams/index.js';
import { HttpError } from './routes.js';

/**
 * How HTTP command routes hand a command to the pipeline: one Avro record on a command topic,
 * acknowledged by the log before the route answers 202. The processors decide later.
 */
export interface CommandProducer {
  send<T extends TopicName>(topic: T, key: string, value: TopicValues[T]): Promise<void>;
}

export function createCommandProducer(producer: LogProducer, serde: TopicSerde): CommandProducer {
  return {
    async send(topic, key, value) {
      const bytes = await serde.encode(topic, value);
      try {
        await producer.send([{ topic, key, value: bytes, headers: {}, timestamp: Date.now() }]);
      } catch (err) {
        // The command was not taken: the client may retry; nothing half-happened.
        throw new HttpError(503, 'SERVICE_UNAVAILABLE', `command not accepted: ${(err as Error).message}`);
      }
    },
  };
}

/** Records every command instead of producing it: for route tests. */
export function recordingCommandProducer(): CommandProducer & { sent: { topic: TopicName; key: string; value: unknown }[] } {
  const sent: { topic: TopicName; key: string; value: unknown }[] = [];
  return {
    sent,
    async send(topic, key, value) {
      sent.push({ topic, key, value });
    },
  };
}
