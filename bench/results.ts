import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ScenarioOutput } from './context.js';
import type { MemoryPoint, ThroughputPoint } from './progress.js';
import { ROOT } from './sut.js';
import type { StepSeries } from './step-series.js';

/** One results file: bench/results/<timestamp>-<scenario>.json. */
export interface BenchResult {
  format: 1;
  scenario: string;
  startedAt: string;
  durationSec: number;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryBytes: number; kernel: string };
  versions: Record<string, string>;
  git: { commit: string; dirty: boolean };
  configuration: Record<string, unknown>;
  figures: Record<string, unknown>;
  /** `steps`: per step, what the report charts (absent in files written before it existed). */
  series: { throughput: ThroughputPoint[]; memory: MemoryPoint[]; latency: ScenarioOutput['latencyCurves']; steps?: StepSeries[] };
  notes: string[];
  tables?: ScenarioOutput['tables'];
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function machineInfo(): BenchResult['machine'] {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryBytes: totalmem(), kernel: release() };
}

const pkgVersion = (name: string): string => {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
};

/** Node, Kafka (from the stack's jars) and the packages the platform's hot path runs on. */
export function versions(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  try {
    const libs = readdirSync(join(process.env.IM_STACK_CACHE ?? join(process.env.HOME ?? '', '.cache/im-stack')));
    const kafka = libs.find((d) => /^kafka-\d/.test(d));
    if (kafka) out.kafka = kafka.slice('kafka-'.length);
  } catch {
    /* unknown */
  }
  for (const p of ['@platformatic/kafka', 'kafkajs', '@confluentinc/kafka-javascript', 'uWebSockets.js', 'ioredis', 'mongodb', 'avsc', '@confluentinc/schemaregistry', 'jose', 'ws', 'hdr-histogram-js']) out[p] = pkgVersion(p);
  return { ...out, ...extra };
}

export function gitInfo(): BenchResult['git'] {
  return { commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain']).length > 0 };
}

/** 2026-11-23T10-48-02 (file-name safe). */
export function stamp(d = new Date()): string {
  return d.toISOString().slice(0, 19).replace(/:/g, '-');
}
