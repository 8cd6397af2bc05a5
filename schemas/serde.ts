import avro from 'avsc';
import {
  type Client,
  Compatibility,
  MockClient,
  SchemaRegistryClient,
} from '@confluentinc/schemaregistry';
import { PoisonError, PlatformError } from '../core/errors.js';
import { topicCatalog, topicSpec } from './catalog.js';
import type { TopicName, TopicValues } from './types.generated.js';

/**
 * Avro serde for topic values in the Confluent wire format (magic byte 0, 4-byte schema id,
 * Avro binary body). Schema ids and writer schemas come from the registry through
 * `@confluentinc/schemaregistry`'s client (the real registry in Kafka mode, its `MockClient`
 * for the embedded engine); the bodies are encoded with avsc types cached per schema id. The
 * library's own AvroSerializer produces the same bytes (a test checks it) but costs about
 * 150 µs per record in rule and cache bookkeeping, at every hop of every message.
 * Schemas are registered by provisioning, never implicitly by a producer, so an incompatible
 * change fails there and not in traffic. Readers decode any registered writer version into
 * the schema of this code (Avro schema resolution), so producers can be upgraded first.
 */
export interface TopicSerde {
  encode<T extends TopicName>(topic: T, value: TopicValues[T]): Promise<Buffer>;
  /** Throws `PoisonError` for bytes that are not a valid record of the topic's schema. */
  decode<T extends TopicName>(topic: T, bytes: Buffer): Promise<TopicValues[T]>;
}

export function createRegistryClient(url: string): Client {
  return url.startsWith('mock://') ? new MockClient({ baseURLs: [url] }) : new SchemaRegistryClient({ baseURLs: [url] });
}

const MAGIC = 0;
const HEADER = 5;
const isTransient = (msg: string): boolean => /ECONNREFUSED|ETIMEDOUT|ECONNRESET|socket hang up|fetch failed|status 5\d\d/i.test(msg);

interface Writer {
  header: Buffer;
  type: avro.Type;
}

export function createTopicSerde(client: Client): TopicSerde {
  const writers = new Map<string, Promise<Writer>>();
  const readers = new Map<string, Promise<(body: Buffer) => unknown>>();
  const local = new Map<string, avro.Type>();

  const localType = (topic: string): avro.Type => {
    let t = local.get(topic);
    if (!t) local.set(topic, (t = avro.Type.forSchema(JSON.parse(topicSpec(topic).schemaText) as avro.Schema)));
    return t;
  };

  /**
   * This code's own schema of the topic, by the id the registry gave it: what producers write
   * with. Not the subject's latest version: a process of an older release registering its schema
   * during a rolling upgrade would make newer producers silently drop the fields it lacks.
   */
  const writer = (topic: string): Promise<Writer> => {
    let w = writers.get(topic);
    if (!w) {
      w = client.getId(`${topic}-value`, { schemaType: 'AVRO', schema: topicSpec(topic).schemaText }, false).then((id) => {
        const header = Buffer.alloc(HEADER);
        header.writeUInt8(MAGIC, 0);
        header.writeInt32BE(id, 1);
        return { header, type: localType(topic) };
      });
      w.catch(() => writers.delete(topic)); // a failed look-up is retried on the next record
      writers.set(topic, w);
    }
    return w;
  };

  /** A decoder from the writer schema `id` into this code's schema of the topic. */
  const reader = (topic: string, id: number): Promise<(body: Buffer) => unknown> => {
    const key = `${topic}#${id}`;
    let r = readers.get(key);
    if (!r) {
      r = client.getBySubjectAndId(`${topic}-value`, id).then((info) => {
        const writerType = avro.Type.forSchema(JSON.parse(info.schema) as avro.Schema);
        const readerType = localType(topic);
        if (writerType.equals(readerType)) return (body: Buffer) => readerType.fromBuffer(body);
        const resolver = readerType.createResolver(writerType);
        return (body: Buffer) => readerType.fromBuffer(body, resolver);
      });
      r.catch(() => readers.delete(key));
      readers.set(key, r);
    }
    return r;
  };

  return {
    async encode(topic, value) {
      let w: Writer;
      try {
        w = await writer(topic);
      } catch (err) {
        throw new PlatformError('REGISTRY_UNAVAILABLE', `this code's schema of ${topic}-value is not in the registry (provisioning registers it: make provision): ${(err as Error).message}`, { retriable: isTransient((err as Error).message ?? ''), cause: err });
      }
      try {
        return Buffer.concat([w.header, w.type.toBuffer(value)]);
      } catch (err) {
        // A value the schema rejects is a bug in the producing code: fail, never retry.
        throw new PlatformError('SERIALIZE_FAILED', `cannot encode a ${topic} value: ${(err as Error).message}`, { cause: err });
      }
    },
    async decode(topic, bytes) {
      if (bytes.length < HEADER || bytes[0] !== MAGIC) throw new PoisonError(`${topic}: not in the Confluent wire format (magic byte missing)`);
      let read: (body: Buffer) => unknown;
      try {
        read = await reader(topic, bytes.readInt32BE(1));
      } catch (err) {
        const msg = (err as Error).message ?? String(err);
        // Registry trouble is transient; an id the registry does not know is the bytes' fault.
        if (isTransient(msg)) throw new PlatformError('REGISTRY_UNAVAILABLE', msg, { retriable: true, cause: err });
        throw new PoisonError(`${topic}: unknown schema id ${bytes.readInt32BE(1)}: ${msg}`, err);
      }
      try {
        return read(bytes.subarray(HEADER)) as TopicValues[typeof topic];
      } catch (err) {
        throw new PoisonError(`${topic}: cannot decode: ${(err as Error).message}`, err);
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
