import {
  AvroDeserializer,
  AvroSerializer,
  type Client,
  Compatibility,
  MockClient,
  SchemaRegistryClient,
  SerdeType,
} from '@confluentinc/schemaregistry';
import { PoisonError, PlatformError } from '../core/errors.js';
import { topicCatalog } from './catalog.js';
import type { TopicName, TopicValues } from './types.generated.js';

/**
 * Avro serde for topic values in the Confluent wire format (magic byte, schema id, body),
 * through `@confluentinc/schemaregistry`. The real registry in Kafka mode; its `MockClient`
 * only for the embedded in-memory engine. Schemas are registered by provisioning, never
 * implicitly by a producer, so an incompatible change fails there and not in traffic.
 */
export interface TopicSerde {
  encode<T extends TopicName>(topic: T, value: TopicValues[T]): Promise<Buffer>;
  /** Throws `PoisonError` for bytes that are not a valid record of the topic's schema. */
  decode<T extends TopicName>(topic: T, bytes: Buffer): Promise<TopicValues[T]>;
}

export function createRegistryClient(url: string): Client {
  return url.startsWith('mock://') ? new MockClient({ baseURLs: [url] }) : new SchemaRegistryClient({ baseURLs: [url] });
}

export function createTopicSerde(client: Client): TopicSerde {
  const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true, autoRegisterSchemas: false });
  const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {});
  return {
    async encode(topic, value) {
      try {
        return await serializer.serialize(topic, value);
      } catch (err) {
        // A value the schema rejects is a bug in the producing code: fail, never retry.
        throw new PlatformError('SERIALIZE_FAILED', `cannot encode a ${topic} value: ${(err as Error).message}`, { cause: err });
      }
    },
    async decode(topic, bytes) {
      if (bytes.length < 5 || bytes[0] !== 0) throw new PoisonError(`${topic}: not in the Confluent wire format (magic byte missing)`);
      try {
        return (await deserializer.deserialize(topic, bytes)) as TopicValues[typeof topic];
      } catch (err) {
        const msg = (err as Error).message ?? String(err);
        // Network trouble reaching the registry is transient; everything else is the bytes' fault.
        if (/ECONNREFUSED|ETIMEDOUT|ECONNRESET|socket hang up|fetch failed/i.test(msg))
          throw new PlatformError('REGISTRY_UNAVAILABLE', msg, { retriable: true, cause: err });
        throw new PoisonError(`${topic}: cannot decode: ${msg}`, err);
      }
    },
  };
}

/**
 * PUT /config/{subject} with the Confluent API's own body; the client library's updateConfig
 * sends a field Apicurio's compatibility layer rejects.
 */
export async function setCompatibility(registryUrl: string, subject: string, level: Compatibility): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${registryUrl}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: level }),
    });
    if (res.ok) return;
    // Two processes provisioning at once race to create the rule; the loser's retry updates it.
    if (res.status === 409 && attempt < 3) {
      await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
      continue;
    }
    throw new PlatformError('REGISTRY_CONFIG_FAILED', `setting ${level} on ${subject}: HTTP ${res.status} ${await res.text()}`);
  }
}

export interface RegistrationResult {
  topic: string;
  subject: string;
  id: number;
}

/**
 * Registers every topic's value schema under `<topic>-value` with BACKWARD compatibility.
 * Idempotent (the same schema returns the same id). A schema that breaks compatibility with
 * the registered one is refused by the registry and reported here with its subject.
 */
export async function registerAllSchemas(client: Client, registryUrl: string): Promise<RegistrationResult[]> {
  const results: RegistrationResult[] = [];
  for (const spec of topicCatalog().values()) {
    const subject = `${spec.name}-value`;
    const schema = { schemaType: 'AVRO', schema: spec.schemaText };
    if (!(client instanceof MockClient)) await setCompatibility(registryUrl, subject, Compatibility.BACKWARD);
    try {
      results.push({ topic: spec.name, subject, id: await client.register(subject, schema, false) });
    } catch (err) {
      throw new PlatformError('SCHEMA_INCOMPATIBLE', `registering ${subject} failed: ${(err as Error).message}`, { cause: err });
    }
  }
  return results;
}
