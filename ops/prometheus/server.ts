import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/**
 * A real Prometheus for tests and fault runs, from the binary ops/stack/install.sh builds into
 * the stack cache: it scrapes the given platform processes under the job names the alerts
 * select (`gateway`, `processors`), loads ops/prometheus/alerts.yml, and evaluates every
 * second, so an alert's state can be awaited through the HTTP API within seconds of its cause.
 * Each instance has its own port (the kernel's choice, read from its log) and its own TSDB.
 */
const STACK_BIN = join(process.env.IM_STACK_CACHE ?? join(homedir(), '.cache', 'im-stack'), 'bin');
export const PROMETHEUS_BIN = join(STACK_BIN, 'prometheus');
export const PROMTOOL_BIN = join(STACK_BIN, 'promtool');
export const RULES_FILE = join(import.meta.dirname, 'alerts.yml');

/** `host:port` of each process's /metrics, by job. */
export interface ScrapeTargets {
  gateway?: string[];
  processors?: string[];
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface RunningPrometheus {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:41625 */
  readonly url: string;
  readonly logFile: string;
  /** Pending and firing alerts (GET /api/v1/alerts). */
  alerts(): Promise<PrometheusAlert[]>;
  /** An instant query's vector: each series' labels and value. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** Polls `find` every 200 ms until it returns a value; the error names `what` and the alerts last seen. */
  waitFor<T>(what: string, find: () => Promise<T | undefined>, timeoutMs: number): Promise<T>;
  stop(): Promise<void>;
}

export function missingBinaryHint(bin: string): string {
  return `${bin} is not installed: run \`bash ops/stack/install.sh prometheus\` (make test does)`;
}

/** The scrape configuration: one job per kind of process, the alert rules, one interval for both. */
export function prometheusConfig(targets: ScrapeTargets, intervalSec = 1): string {
  const jobs = (['gateway', 'processors'] as const).filter((job) => targets[job]?.length);
  return stringify({
    global: { scrape_interval: `${intervalSec}s`, evaluation_interval: `${intervalSec}s`, scrape_timeout: `${intervalSec}s` },
    rule_files: [RULES_FILE],
    scrape_configs: jobs.map((job) => ({ job_name: job, metrics_path: '/metrics', static_configs: [{ targets: targets[job] }] })),
  });
}

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data;
}

export async function startPrometheus(options: { targets: ScrapeTargets; intervalSec?: number; startTimeoutMs?: number }): Promise<RunningPrometheus> {
  if (!existsSync(PROMETHEUS_BIN)) throw new Error(missingBinaryHint(PROMETHEUS_BIN));
  const dir = mkdtempSync(join(tmpdir(), 'im-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  const logFile = join(dir, 'prometheus.log');
  writeFileSync(configFile, prometheusConfig(options.targets, options.intervalSec));
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--web.listen-address=127.0.0.1:0', '--log.level=info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const tail = (): string => readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');

  // Port 0: the address actually bound is in the log line "Listening on".
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`prometheus did not listen within ${options.startTimeoutMs ?? 15_000} ms:\n${output}`)), options.startTimeoutMs ?? 15_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const m = /msg="Listening on".*address=(\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`prometheus exited (${code}) before listening:\n${output}`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });

  const alerts = async (): Promise<PrometheusAlert[]> => (await api<{ alerts: PrometheusAlert[] }>(`${url}/api/v1/alerts`)).alerts;
  const running: RunningPrometheus = {
    url,
    logFile,
    alerts,
    async query(expr) {
      const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async waitFor(what, find, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = await find().catch(() => undefined);
        if (found !== undefined) return found;
        if (Date.now() > deadline) {
          const seen = await alerts().catch((err: unknown) => String(err));
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; alerts: ${JSON.stringify(seen)}\nprometheus log (${logFile}):\n${tail()}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      log.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Ready: the TSDB is open and the rules are loaded.
  await running.waitFor('prometheus ready', async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), options.startTimeoutMs ?? 15_000).catch(async (err: unknown) => {
    await running.stop();
    throw err;
  });
  return running;
}
