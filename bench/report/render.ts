import { readFileSync, writeFileSync } from 'node:fs';
import type { ScenarioOutput } from '../context.js';
import type { BenchResult } from '../results.js';
import { summarize } from '../summary.js';
import { renderReport } from './html.js';

/**
 * Renders a report again from a run's JSON files, with the report code as it is now (a run keeps
 * the code it started with): usage `npx tsx bench/report/render.ts out.html <run>-direct.json ...`.
 */
const [out, ...files] = process.argv.slice(2);
if (!out || files.length === 0) {
  console.error('usage: npx tsx bench/report/render.ts out.html bench/results/<run>-<scenario>.json ...');
  process.exit(2);
}
const results = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as BenchResult);
const outputs: ScenarioOutput[] = results.map((r) => ({ scenario: r.scenario, configuration: r.configuration, figures: r.figures, latencyCurves: r.series.latency, notes: r.notes, tables: r.tables, steps: r.series.steps }));
writeFileSync(out, renderReport(results, summarize(outputs)));
console.log(`${out}: ${results.map((r) => r.scenario).join(', ')}`);
