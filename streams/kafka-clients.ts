import { PlatformError } from '../core/errors.js';
import type { KafkaClientName, KafkaLogConfig, LogClient } from './log.js';
import { KafkaLog } from './log-kafka.js';

/**
 * Opens the Kafka log on the chosen client library (IM_KAFKA_CLIENT). kafkajs is always there;
 * the others are loaded only when chosen, so a deployment installs just the client it runs on.
 */
type KafkaLogConstructor = new (config: KafkaLogConfig) => LogClient;

interface LoadedClient {
  /** The log file, imported by a path held in a variable so the factory compiles without it. */
  file: string;
  className: string;
  /** The package the file imports, named in the error when it is not installed. */
  packageName: string;
}

const LOADED_CLIENTS: Record<Exclude<KafkaClientName, 'kafkajs'>, LoadedClient> = {
  confluent: { file: './log-confluent.js', className: 'ConfluentKafkaLog', packageName: '@confluentinc/kafka-javascript' },
  platformatic: { file: './log-platformatic.js', className: 'PlatformaticKafkaLog', packageName: '@platformatic/kafka' },
};

export async function openKafkaLog(client: KafkaClientName, config: KafkaLogConfig): Promise<LogClient> {
  if (client === 'kafkajs') return new KafkaLog(config);
  const { file, className, packageName } = LOADED_CLIENTS[client];
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(file)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof Error && err.message.includes(packageName)) {
      throw new PlatformError('KAFKA_CLIENT_MISSING', `Kafka client '${client}' needs the package ${packageName}, which is not installed: run \`npm install ${packageName}\` or choose another IM_KAFKA_CLIENT`, { cause: err });
    }
    throw err;
  }
  const Log = loaded[className];
  if (typeof Log !== 'function') throw new PlatformError('KAFKA_CLIENT_MISSING', `Kafka client '${client}': ${file} exports no ${className}`);
  return new (Log as KafkaLogConstructor)(config);
}
