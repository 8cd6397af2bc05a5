import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { flattenFigures } from './report/html.js';
import type { BenchResult } from './results.js';

export interface ComparedFigure {
  path: string;
  a: number;
  b: number;
  /** b / a; null when a is 0. */
  ratio: number | null;
}

/** Every numeric figure present in both results, with b/a. */
export function compareFigures(a: Pick<BenchResult, 'figures'>, b: Pick<BenchResult, 'figures'>): ComparedFigure[] {
  const av = new Map(flattenFigures(a.figures));
  const out: ComparedFigure[] = [];
  for (const [path, bv] of flattenFigures(b.figures)) {
    const x = av.get(path);
    if (x === undefined) continue;
    out.push({ path, a: x, b: bv, ratio: x === 0 ? null : Math.round((bv / x) * 1000) / 1000 });
  }
  return out;
}

export function formatComparison(rows: readonly ComparedFigure[], onlyChanged = false): string {
  const width = Math.max(10, ...rows.map((r) => r.path.length));
  return rows
    .filter((r) => !onlyChanged || r.a !== r.b)
    .map((r) => `${r.path.padEnd(width)}  ${String(r.a).padStart(12)}  ${String(r.b).padStart(12)}  ${r.ratio === null ? '   n/a' : `×${r.ratio}`}`)
    .join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [fa, fb, flag] = process.argv.slice(2);
  if (!fa || !fb) {
    console.error('usage: npx tsx bench/compare.ts a.json b.json [--changed]');
    process.exit(2);
  }
  const a = JSON.parse(readFileSync(fa, 'utf8')) as BenchResult;
  const b = JSON.parse(readFileSync(fb, 'utf8')) as BenchResult;
  if (a.scenario !== b.scenario) console.warn(`note: comparing ${a.scenario} with ${b.scenario}`);
  console.log(`a: ${fa} (${a.startedAt}, ${a.git.commit.slice(0, 10)})\nb: ${fb} (${b.startedAt}, ${b.git.commit.slice(0, 10)})\n`);
  console.log(formatComparison(compareFigures(a, b), flag === '--changed'));
}
