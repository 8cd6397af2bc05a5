import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { enableDefaultMetrics, registry } from '../core/metrics.js';
import { dashboards, dashboardsDir, DATASOURCE_UID, renderDashboard } from './grafana/build.js';

/**
 * The dashboards and alert rules query only metrics the processes export. The registry is
 * filled the way a process fills it: every module that defines metrics through core/metrics.ts
 * is imported (found by scanning the source, so a new module is picked up without editing this
 * test), plus Node's default metrics.
 */
const root = join(import.meta.dirname, '..');
const here = import.meta.dirname;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Files that define metrics: they import core/metrics and call a helper with a literal name. */
function metricModules(): string[] {
  return ['core', 'streams', 'edge', 'topologies', 'connectors', 'ops']
    .flatMap((d) => sourceFiles(join(root, d)))
    .filter((f) => {
      const text = readFileSync(f, 'utf8');
      return /core\/metrics\.js'|from '\.\/metrics\.js'|from '\.\.\/metrics\.js'/.test(text) && /\b(counter|gauge|histogram)\(\s*'[a-z_:]+'/.test(text);
    });
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'Inf', 'NaN']);

/** Metric names a PromQL expression selects (functions, keywords, labels and literals removed). */
export function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = s[m.index - 1] ?? ' ';
    if (/[0-9.]/.test(before)) continue; // 1e-9, 5m
    if (KEYWORDS.has(m[0])) continue;
    if (s.slice(m.index + m[0].length).trimStart().startsWith('(')) continue; // function or aggregation
    names.add(m[0]);
  }
  return [...names];
}

/** `name{a="x",b=~"y"}` selectors: the metric name with the label names it matches on. */
function selectors(expr: string): { name: string; labels: string[] }[] {
  const out: { name: string; labels: string[] }[] = [];
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)) {
    const labels = [...m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!);
    out.push({ name: m[1]!, labels });
  }
  return out;
}

/** The metric of a Grafana variable query `label_values(metric{...}, label)`. */
function variableMetric(query: string): string[] {
  const m = /label_values\(\s*([^,]+),/.exec(query);
  return m ? metricNames(m[1]!) : metricNames(query);
}

interface Exported {
  names: Map<string, string>; // series name -> family name
  labels: Map<string, Set<string>>; // family name -> label names
}

/** Series names (histograms: _bucket/_sum/_count) and label names of every registered family. */
async function exported(): Promise<Exported> {
  const names = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  for (const m of await registry.getMetricsAsJSON()) {
    const family = m.name;
    const type = String(m.type); // the JSON carries 'counter' | 'gauge' | 'histogram' | 'summary'
    names.set(family, family);
    if (type === 'histogram' || type === 'summary') {
      for (const suffix of ['_sum', '_count']) names.set(family + suffix, family);
      if (type === 'histogram') names.set(`${family}_bucket`, family);
    }
    const metric = registry.getSingleMetric(family) as unknown as { labelNames?: string[] } | undefined;
    labels.set(family, new Set(metric?.labelNames ?? []));
    // Values may carry labels the metric object does not declare (default metrics).
    for (const v of m.values as { labels: Record<string, unknown> }[]) for (const l of Object.keys(v.labels)) labels.get(family)!.add(l);
  }
  return { names, labels };
}

/** Labels Prometheus adds at scrape time, and `up`, which it synthesises per target. */
const TARGET_LABELS = ['instance', 'job'];
const SYNTHETIC = new Set(['up']);

interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}
interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: GrafanaPanel[];
  templating: { list: { name: string; datasource?: { uid: string }; query: { query: string } | string }[] };
}

const dashboardFiles = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json')).sort();
const loaded = dashboardFiles.map((file) => ({ file, json: JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as GrafanaDashboard }));

function queriesOf(d: GrafanaDashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of d.panels) for (const t of p.targets ?? []) out.push({ where: `${d.uid} panel ${p.id} "${p.title}" ${t.refId}`, expr: t.expr });
  return out;
}

function alertRules(): { alert: string; expr: string }[] {
  const doc = parseYaml(readFileSync(join(here, 'prometheus/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

let metrics: Exported;
let modules: string[];

beforeAll(async () => {
  modules = metricModules();
  for (const f of modules) await import(pathToFileURL(f).href);
  enableDefaultMetrics();
  metrics = await exported();
});

describe('PromQL metric extraction', () => {
  it('keeps metric names and drops functions, keywords, labels, ranges, variables and numbers', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (processor, le) (rate(im_x_bucket{processor=~"$processor"}[$__rate_interval])))')).toEqual(['im_x_bucket']);
    expect(metricNames('sum(rate(a_total[5m])) / clamp_min(sum by (instance) (b{job="x"}), 1e-9) > 0.05 and on (instance) c offset 5m')).toEqual(['a_total', 'b', 'c']);
    expect(metricNames('up{job="gateway"} == 0')).toEqual(['up']);
    expect(variableMetric('label_values(im_processor_records_in_total, processor)')).toEqual(['im_processor_records_in_total']);
    expect(selectors('rate(m_total{code="4001", instance=~"$i"}[5m])')).toEqual([{ name: 'm_total', labels: ['code', 'instance'] }]);
  });
});

describe('metric modules', () => {
  it('finds the modules that define metrics and registers their families', () => {
    const rel = modules.map((f) => relative(root, f));
    expect(rel).toEqual(expect.arrayContaining(['edge/gateway/metrics.ts', 'edge/auth/metrics.ts', 'streams/metrics.ts']));
    for (const name of ['im_gateway_connections', 'im_processor_records_in_total', 'im_consumer_lag', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds'])
      expect(metrics.names.has(name), name).toBe(true);
  });
});

describe('Grafana dashboards', () => {
  it('has the four dashboards, each valid JSON with a unique uid', () => {
    expect(dashboardFiles).toEqual(['edge.json', 'overview.json', 'pipeline.json', 'storage.json']);
    const uids = loaded.map((d) => d.json.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { json } of loaded) {
      expect(typeof json.title).toBe('string');
      expect(Array.isArray(json.panels)).toBe(true);
    }
  });

  it('is what ops/grafana/build.ts generates (edit there, then rebuild)', () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual(dashboardFiles);
    for (const d of dashboards) expect(readFileSync(join(dashboardsDir, d.file), 'utf8'), d.file).toBe(renderDashboard(d));
  });

  it('gives each panel a unique id and a place on the 24-column grid without overlaps', () => {
    for (const { file, json } of loaded) {
      const ids = json.panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      const cells = new Set<string>();
      for (const p of json.panels) {
        const { x, y, w, h } = p.gridPos;
        expect(x >= 0 && w > 0 && h > 0 && x + w <= 24, `${file} panel ${p.id}`).toBe(true);
        for (let i = x; i < x + w; i++)
          for (let j = y; j < y + h; j++) {
            const cell = `${i},${j}`;
            expect(cells.has(cell), `${file} panel ${p.id} overlaps at ${cell}`).toBe(false);
            cells.add(cell);
          }
      }
    }
  });

  it('uses only the provisioned Prometheus datasource, by uid', () => {
    const prov = parseYaml(readFileSync(join(here, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { uid: string; type: string }[] };
    const uids = new Set(prov.datasources.filter((d) => d.type === 'prometheus').map((d) => d.uid));
    expect(uids.has(DATASOURCE_UID)).toBe(true);
    for (const { file, json } of loaded) {
      for (const p of json.panels) {
        if (p.type === 'row' || p.type === 'text') continue;
        expect(p.datasource && uids.has(p.datasource.uid), `${file} panel ${p.id}`).toBe(true);
        expect(p.targets!.length, `${file} panel ${p.id} has queries`).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.datasource && uids.has(t.datasource.uid), `${file} panel ${p.id} ${t.refId}`).toBe(true);
      }
      for (const v of json.templating.list) expect(v.datasource && uids.has(v.datasource.uid), `${file} variable ${v.name}`).toBe(true);
    }
  });

  it('queries only metrics the processes export', () => {
    const missing: string[] = [];
    for (const { json } of loaded) {
      for (const q of queriesOf(json)) {
        const names = metricNames(q.expr);
        expect(names.length, `${q.where}: no metric in ${q.expr}`).toBeGreaterThan(0);
        for (const n of names) if (!metrics.names.has(n) && !SYNTHETIC.has(n)) missing.push(`${q.where}: ${n}`);
      }
      for (const v of json.templating.list) {
        const query = typeof v.query === 'string' ? v.query : v.query.query;
        for (const n of variableMetric(query)) if (!metrics.names.has(n)) missing.push(`${json.uid} variable ${v.name}: ${n}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('matches only on labels the metrics carry', () => {
    const wrong: string[] = [];
    for (const { json } of loaded)
      for (const q of queriesOf(json))
        for (const s of selectors(q.expr)) {
          const family = metrics.names.get(s.name);
          if (!family) continue; // reported by the test above
          const known = new Set([...metrics.labels.get(family)!, ...TARGET_LABELS, ...(s.name.endsWith('_bucket') ? ['le'] : [])]);
          for (const l of s.labels) if (!known.has(l)) wrong.push(`${q.where}: ${s.name} has no label ${l}`);
        }
    expect(wrong).toEqual([]);
  });

  it('overview shows connections, flow, delivery latency, error frames, DLQ and lag', () => {
    const overview = loaded.find((d) => d.json.uid === 'im-overview')!.json;
    const used = new Set(queriesOf(overview).flatMap((q) => metricNames(q.expr)));
    for (const n of ['im_gateway_connections', 'im_gateway_frames_in_total', 'im_gateway_frames_out_total', 'im_gateway_delivery_latency_seconds_bucket', 'im_gateway_error_frames_total', 'im_processor_dlq_total', 'im_consumer_lag'])
      expect(used.has(n), n).toBe(true);
  });
});

describe('Prometheus alert rules', () => {
  it('cover gateway down, consumer lag, DLQ and error frames', () => {
    const names = alertRules().map((r) => r.alert);
    expect(names).toEqual(expect.arrayContaining(['ImGatewayDown', 'ImConsumerLagGrowing', 'ImDeadLetters', 'ImErrorFramesHigh']));
    expect(new Set(names).size).toBe(names.length);
  });

  it('query only exported metrics (or up) on labels they carry', () => {
    const problems: string[] = [];
    for (const r of alertRules()) {
      for (const n of metricNames(r.expr)) if (!metrics.names.has(n) && !SYNTHETIC.has(n)) problems.push(`${r.alert}: ${n}`);
      for (const s of selectors(r.expr)) {
        const family = metrics.names.get(s.name);
        if (!family) continue;
        const known = new Set([...metrics.labels.get(family)!, ...TARGET_LABELS]);
        for (const l of s.labels) if (!known.has(l)) problems.push(`${r.alert}: ${s.name} has no label ${l}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('are loaded by both Prometheus configurations, whose jobs the dashboards select', () => {
    for (const file of ['prometheus.yml', 'prometheus.compose.yml']) {
      const cfg = parseYaml(readFileSync(join(here, 'prometheus', file), 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
      expect(cfg.rule_files, file).toContain('alerts.yml');
      const jobs = Object.fromEntries(cfg.scrape_configs.map((s) => [s.job_name, s.static_configs.flatMap((c) => c.targets)]));
      expect(Object.keys(jobs).sort(), file).toEqual(['gateway', 'processors']);
      expect(jobs.gateway!.every((t) => t.endsWith(':8080')), file).toBe(true);
      expect(jobs.processors!.every((t) => t.endsWith(':9464')), file).toBe(true);
    }
  });
});
