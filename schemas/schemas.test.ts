import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AvroDeserializer, AvroSerializer, Compatibility, SerdeType } from '@confluentinc/schemaregistry';
import avro from 'avsc';
import { loadConfig } from '../core/config.js';
import { topicCatalog } from './catalog.js';
import { generate } from './codegen.js';
import { createRegistryClient, createTopicSerde, registerAllSchemas, setCompatibility } from './serde.js';
import type { StampedMessage } from './types.generated.js';

const registryUrl = loadConfig({ ...process.env, IM_ENGINE: 'kafka' }).registry.url;

const stamped: StampedMessage = {
  correlationId: 'c1', messageId: '01J0000000', seq: 42, sender: 'alice', origin: { gatewayId: 'gw1', connectionId: 'c', deviceId: 'd' },
  clientMsgId: 'm1', conversationId: 'd:alice:bob', recipientKind: 'USER', recipientId: 'bob', content: 'héllo 👋', contentType: 'text',
  mentions: ['bob'], clientTimestamp: 1_700_000_000_000, receivedAt: 1_700_000_000_001, stampedAt: 1_700_000_000_002,
};
/** As every reader decodes it: an omittable field the writer left out holds its default. */
const decodedStamped: StampedMessage = { ...stamped, action: null, replyTo: null, forwardOf: null, media: [] };
/** A change to a message (domain/message-changes.ts), with the target's state it carries. */
const reaction: StampedMessage = {
  ...stamped, seq: 43, contentType: 'system/reaction', content: '{"event":"reaction"}', mentions: [],
  action: { kind: 'REACT', targetConversationId: 'd:alice:bob', targetSeq: 42, targetMessageId: '01J0000000', emoji: '👍', privileged: false, targetSender: 'alice', version: 0, reactions: [{ emoji: '👍', users: ['bob'] }] },
  replyTo: null, forwardOf: null, media: [],
};
/** A reply whose quote the stamper resolved (domain/message-references.ts). */
const reply: StampedMessage = {
  ...stamped, seq: 44, action: null, forwardOf: null, media: [],
  replyTo: { conversationId: 'd:alice:bob', seq: 42, messageId: '01J0000000', sender: 'alice', excerpt: 'héllo', contentType: 'text', recalled: false, stampedAt: 1_700_000_000_002 },
};

describe('schemas', () => {
  it('keep the generated TypeScript types in step with the .avsc files', () => {
    expect(readFileSync(new URL('./types.generated.ts', import.meta.url), 'utf8')).toBe(generate());
  });

  it('declare one self-contained schema per topic, compaction for state topics', () => {
    const catalog = topicCatalog();
    expect(catalog.size).toBeGreaterThanOrEqual(18);
    for (const spec of catalog.values()) {
      expect(JSON.parse(spec.schemaText).type).toBe('record');
      if (spec.name.startsWith('im.state.')) expect(spec.config['cleanup.policy']).toMatch(/^compact/);
    }
  });

  it('round-trip a value through the real registry in the Confluent wire format', async () => {
    const writerClient = createRegistryClient(registryUrl);
    const registered = await registerAllSchemas(writerClient, registryUrl);
    const id = registered.find((r) => r.topic === 'im.msg.stamped')!.id;
    const bytes = await createTopicSerde(writerClient).encode('im.msg.stamped', stamped);
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(id);
    // A fresh client resolves the schema by id from the registry, as another process would.
    const reader = createTopicSerde(createRegistryClient(registryUrl));
    expect(await reader.decode('im.msg.stamped', bytes)).toEqual(decodedStamped);
    expect(await reader.decode('im.msg.stamped', await createTopicSerde(writerClient).encode('im.msg.stamped', reaction))).toEqual(reaction);
    expect(await reader.decode('im.msg.stamped', await createTopicSerde(writerClient).encode('im.msg.stamped', reply))).toEqual(reply);
  });

  it('encode exactly the bytes the library\'s own AvroSerializer writes, and read its bytes', async () => {
    const client = createRegistryClient('mock://bytes');
    await registerAllSchemas(client, 'mock://bytes');
    const library = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true, autoRegisterSchemas: false });
    const ours = createTopicSerde(client);
    const expected = await library.serialize('im.msg.stamped', stamped);
    expect((await ours.encode('im.msg.stamped', stamped)).equals(expected)).toBe(true);
    const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {});
    expect(await deserializer.deserialize('im.msg.stamped', await ours.encode('im.msg.stamped', stamped))).toEqual(decodedStamped);
  });

  it('read records written with an older registered schema into the current one', async () => {
    const client = createRegistryClient('mock://evolution');
    const current = JSON.parse(topicCatalog().get('im.msg.stamped')!.schemaText) as { fields: { name: string }[] };
    const older = { ...current, fields: current.fields.filter((f) => f.name !== 'mentions' && f.name !== 'contentType' && f.name !== 'action' && f.name !== 'replyTo' && f.name !== 'forwardOf') };
    const oldId = await client.register('im.msg.stamped-value', { schemaType: 'AVRO', schema: JSON.stringify(older) }, false);
    await registerAllSchemas(client, 'mock://evolution');
    const { mentions: _m, contentType: _c, ...oldValue } = stamped;
    const body = avro.Type.forSchema(older as avro.Schema).toBuffer(oldValue);
    const header = Buffer.alloc(5);
    header.writeInt32BE(oldId, 1);
    const decoded = await createTopicSerde(client).decode('im.msg.stamped', Buffer.concat([header, body]));
    expect(decoded).toEqual({ ...decodedStamped, mentions: [], contentType: 'text' });
  });

  it('write with this code\'s own schema, not the subject\'s latest (an older release registering during a rolling upgrade)', async () => {
    const client = createRegistryClient('mock://rolling');
    const ownId = (await registerAllSchemas(client, 'mock://rolling')).find((r) => r.topic === 'im.msg.stamped')!.id;
    const current = JSON.parse(topicCatalog().get('im.msg.stamped')!.schemaText) as { fields: { name: string }[] };
    const older = { ...current, fields: current.fields.filter((f) => f.name !== 'replyTo' && f.name !== 'forwardOf') };
    const olderId = await client.register('im.msg.stamped-value', { schemaType: 'AVRO', schema: JSON.stringify(older) }, false);
    expect(olderId).not.toBe(ownId);
    const bytes = await createTopicSerde(client).encode('im.msg.stamped', reply);
    expect(bytes.readInt32BE(1)).toBe(ownId);
    expect(await createTopicSerde(client).decode('im.msg.stamped', bytes)).toEqual(reply);
  });

  it('refuse to write a topic whose schema of this code was never registered, saying so', async () => {
    const client = createRegistryClient('mock://unprovisioned');
    await expect(createTopicSerde(client).encode('im.msg.stamped', stamped)).rejects.toThrow(/not in the registry/);
  });

  it('refuse a schema change that breaks BACKWARD compatibility', async () => {
    const client = createRegistryClient(registryUrl);
    const subject = `compat-test-${randomUUID()}-value`;
    const v1 = { type: 'record', name: 'T', namespace: 'im.test', fields: [{ name: 'a', type: 'string' }] };
    const compatible = { ...v1, fields: [...v1.fields, { name: 'b', type: 'int', default: 0 }] };
    const breaking = { ...v1, fields: [...v1.fields, { name: 'c', type: 'int' }] };
    await setCompatibility(registryUrl, subject, Compatibility.BACKWARD);
    await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v1) }, false);
    await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(compatible) }, false);
    await expect(client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(breaking) }, false)).rejects.toThrow();
  });
});
