import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

/**
 * The schema catalogue: every topic of `topics.json` with its self-contained Avro schema.
 * Schema files may name a type defined in another file (`im.Origin`); the catalogue inlines
 * the definition at its first use, so each topic's schema registers as one document.
 */
const here = dirname(fileURLToPath(import.meta.url));

type AvroJson = string | AvroJson[] | { [k: string]: AvroJson } | number | boolean | null;
type AvroObject = { [k: string]: AvroJson };

export interface TopicSpec {
  name: string;
  schemaFile: string;
  /** Full Avro name of the value record, e.g. `im.StampedMessage`. */
  recordName: string;
  partitions: number;
  replicationFactor: number;
  compact: boolean;
  /**
   * Read or written outside the topology (the edge, the HTTP API, extensions, other teams):
   * the runtime always materialises it, never fuses the processors on its two sides.
   */
  contract: boolean;
  key: string;
  doc: string;
  config: Record<string, string>;
  /** The self-contained schema text registered under `<topic>-value`. */
  schemaText: string;
}

interface TopicsFile {
  defaults: { partitions: number; replicationFactor: number };
  topics: Record<string, { schema: string; key: string; doc: string; partitions?: number; compact?: boolean; contract?: boolean; config?: Record<string, string> }>;
}

const isObject = (v: AvroJson): v is AvroObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function fullName(def: AvroObject): string {
  const name = String(def.name);
  return name.includes('.') ? name : `${String(def.namespace ?? 'im')}.${name}`;
}

/** Every named type (record, enum, fixed) defined anywhere in the schema files. */
function collectNamed(node: AvroJson, into: Map<string, AvroObject>, ns = 'im'): void {
  if (Array.isArray(node)) return node.forEach((n) => collectNamed(n, into, ns));
  if (!isObject(node)) return;
  if ((node.type === 'record' || node.type === 'enum' || node.type === 'fixed') && typeof node.name === 'string') {
    const qualified = fullName({ ...node, namespace: node.namespace ?? ns });
    into.set(qualified, node);
    ns = qualified.slice(0, qualified.lastIndexOf('.'));
  }
  for (const v of Object.values(node)) collectNamed(v, into, ns);
}

function inline(node: AvroJson, named: Map<string, AvroObject>, seen: Set<string>): AvroJson {
  if (typeof node === 'string') {
    const def = named.get(node) ?? named.get(`im.${node}`);
    if (!def) return node;
    const name = fullName(def);
    if (seen.has(name)) return name;
    seen.add(name);
    return inline(def, named, seen);
  }
  if (Array.isArray(node)) return node.map((n) => inline(n, named, seen));
  if (!isObject(node)) return node;
  if ((node.type === 'record' || node.type === 'enum') && typeof node.name === 'string') seen.add(fullName(node));
  const out: AvroObject = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'type' || k === 'items' || k === 'values' || k === 'fields' ? inline(v, named, seen) : v;
  return out;
}

function loadSchemaFiles(): Map<string, AvroObject> {
  const files = new Map<string, AvroObject>();
  for (const f of readdirSync(join(here, 'avro'))) {
    if (f.endsWith('.avsc')) files.set(f.slice(0, -5), JSON.parse(readFileSync(join(here, 'avro', f), 'utf8')) as AvroObject);
  }
  return files;
}

function buildCatalog(): Map<string, TopicSpec> {
  const files = loadSchemaFiles();
  const named = new Map<string, AvroObject>();
  for (const schema of files.values()) collectNamed(schema, named);
  const topicsFile = JSON.parse(readFileSync(join(here, 'topics.json'), 'utf8')) as TopicsFile;
  const catalog = new Map<string, TopicSpec>();
  for (const [name, t] of Object.entries(topicsFile.topics)) {
    const schema = files.get(t.schema);
    if (!schema) throw new Error(`topics.json: ${name} names schema ${t.schema}, which is not in schemas/avro`);
    const expanded = inline(schema, named, new Set());
    const schemaText = JSON.stringify(expanded);
    avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema); // fails fast on a broken schema
    catalog.set(name, {
      name,
      schemaFile: t.schema,
      recordName: fullName(schema),
      partitions: t.partitions ?? topicsFile.defaults.partitions,
      replicationFactor: topicsFile.defaults.replicationFactor,
      compact: t.compact ?? false,
      contract: t.contract ?? false,
      key: t.key,
      doc: t.doc,
      config: { ...(t.compact ? { 'cleanup.policy': 'compact' } : {}), ...(t.config ?? {}) },
      schemaText,
    });
  }
  return catalog;
}

let cached: Map<string, TopicSpec> | undefined;

/** All topics, loaded once per process. */
export function topicCatalog(): Map<string, TopicSpec> {
  cached ??= buildCatalog();
  return cached;
}

export function topicSpec(topic: string): TopicSpec {
  const spec = topicCatalog().get(topic);
  if (!spec) throw new Error(`unknown topic ${topic}: add it to schemas/topics.json`);
  return spec;
}

/** Named types of all schema files, for the type generator. */
export function namedSchemaTypes(): Map<string, AvroObject> {
  const named = new Map<string, AvroObject>();
  for (const schema of loadSchemaFiles().values()) collectNamed(schema, named);
  return named;
}
