import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { missingBinaryHint, PROMTOOL_BIN } from './server.js';

/**
 * The alert rules as Prometheus itself reads them: `promtool check rules` (syntax, templates,
 * lint) over every rules file, `promtool check config` over the scrape configurations, and
 * `promtool test rules` over the unit tests beside them (*.test.yml), where every alert has a
 * case that fires once its `for:` has passed and one that must not fire.
 */
const here = import.meta.dirname;
const yamlFiles = readdirSync(here).filter((f) => f.endsWith('.yml')).sort();
const testFiles = yamlFiles.filter((f) => f.endsWith('.test.yml'));
const rulesFiles = yamlFiles.filter((f) => !testFiles.includes(f) && 'groups' in (parseYaml(readFileSync(join(here, f), 'utf8')) as object));

function promtool(...args: string[]): { status: number | null; output: string } {
  if (!existsSync(PROMTOOL_BIN)) throw new Error(missingBinaryHint(PROMTOOL_BIN));
  const r = spawnSync(PROMTOOL_BIN, args, { cwd: here, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface RuleTestFile {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const alertNames = rulesFiles.flatMap((f) => (parseYaml(readFileSync(join(here, f), 'utf8')) as { groups: { rules: { alert?: string }[] }[] }).groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))));

describe('Prometheus alert rules (promtool)', () => {
  it('pass promtool check rules, linted, in every rules file', () => {
    expect(rulesFiles).toContain('alerts.yml');
    const r = promtool('check', 'rules', '--lint=all', '--lint-fatal', ...rulesFiles);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain(`SUCCESS: ${alertNames.length} rules found`);
  });

  it('are loaded by the local and compose scrape configurations, which promtool accepts', () => {
    // The Kubernetes one needs the service discovery left out of the stack's build.
    const r = promtool('check', 'config', '--lint=all', '--lint-fatal', 'prometheus.yml', 'prometheus.compose.yml');
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS: prometheus.yml is valid prometheus config file syntax');
  });

  it('pass their unit tests (promtool test rules)', () => {
    expect(testFiles.length).toBeGreaterThan(0);
    const r = promtool('test', 'rules', ...testFiles);
    expect(r.status, r.output).toBe(0);
    expect(r.output.match(/SUCCESS/g)?.length, r.output).toBe(testFiles.length);
  });

  it('have, for every alert, a case where it fires and one where it must not', () => {
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const f of testFiles) {
      const doc = parseYaml(readFileSync(join(here, f), 'utf8')) as RuleTestFile;
      expect(doc.rule_files, f).toEqual(rulesFiles);
      for (const t of doc.tests) for (const a of t.alert_rule_test ?? []) (a.exp_alerts.length > 0 ? firing : quiet).add(a.alertname);
    }
    expect(alertNames.filter((a) => !firing.has(a)), 'alerts never expected to fire').toEqual([]);
    expect(alertNames.filter((a) => !quiet.has(a)), 'alerts never expected to stay quiet').toEqual([]);
  });
});
