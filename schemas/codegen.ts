import { writeFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { namedSchemaTypes, topicCatalog } from './catalog.js';

/**
 * Derives `types.generated.ts` from the Avro schemas, so the code's types cannot drift from
 * what goes on the wire. `npm run schemas` rewrites it; `--check` fails when it is stale
 * (the test suite runs that check).
 */
type Json = string | Json[] | { [k: string]: Json } | number | boolean | null;

function tsType(t: Json): string {
  if (typeof t === 'string') {
    switch (t) {
      case 'null': return 'null';
      case 'boolean': return 'boolean';
      case 'int': case 'long': case 'float': case 'double': return 'number';
      case 'bytes': return 'Buffer';
      case 'string': return 'string';
      default: return t.split('.').pop() as string;
    }
  }
  if (Array.isArray(t)) return t.map(tsType).join(' | ');
  if (t && typeof t === 'object') {
    if (t.type === 'array') return `${wrap(tsType(t.items as Json))}[]`;
    if (t.type === 'map') return `Record<string, ${tsType(t.values as Json)}>`;
    if (t.type === 'record' || t.type === 'enum') return String(t.name).split('.').pop() as string;
    return tsType(t.type as Json);
  }
  throw new Error(`unsupported Avro type ${JSON.stringify(t)}`);
}

/**
 * A field added to a schema already in use, marked `"omittable": true` beside its default:
 * optional in TypeScript, so writers that predate it need not change (avsc writes the default),
 * while every decoded record has it.
 */
function omittable(f: { omittable?: boolean; default?: unknown }): boolean {
  if (f.omittable === true && f.default === undefined) throw new Error('an omittable field needs a default');
  return f.omittable === true;
}

const wrap = (s: string): string => (s.includes('|') ? `(${s})` : s);
const docLine = (doc: Json | undefined, indent: string): string => (typeof doc === 'string' ? `${indent}/** ${doc} */\n` : '');

export function generate(): string {
  let out = '// Generated from schemas/avro/*.avsc by schemas/codegen.ts. Do not edit: run `npm run schemas`.\n\n';
  for (const [name, def] of [...namedSchemaTypes()].sort(([a], [b]) => a.localeCompare(b))) {
    const short = name.split('.').pop() as string;
    out += docLine(def.doc, '');
    if (def.type === 'enum') {
      out += `export type ${short} = ${(def.symbols as string[]).map((s) => `'${s}'`).join(' | ')};\n\n`;
    } else if (def.type === 'record') {
      out += `export interface ${short} {\n`;
      for (const f of def.fields as { name: string; type: Json; doc?: string; omittable?: boolean }[]) out += docLine(f.doc, '  ') + `  ${f.name}${omittable(f) ? '?' : ''}: ${tsType(f.type)};\n`;
      out += '}\n\n';
    }
  }
  out += '/** The value type of every topic, by topic name. */\nexport interface TopicValues {\n';
  for (const spec of topicCatalog().values()) out += `  '${spec.name}': ${spec.recordName.split('.').pop()};\n`;
  out += '}\n\nexport type TopicName = keyof TopicValues;\n';
  return out;
}

const target = join(dirname(fileURLToPath(import.meta.url)), 'types.generated.ts');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const code = generate();
  if (process.argv.includes('--check')) {
    if (readFileSync(target, 'utf8') !== code) {
      console.error('schemas/types.generated.ts is stale: run `npm run schemas`');
      process.exit(1);
    }
  } else writeFileSync(target, code);
}
