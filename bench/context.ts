import type { Flags } from './args.js';
import type { PercentileCurve } from './histogram.js';
import type { Progress } from './progress.js';

/** What a scenario gets from bench/run.ts. */
export interface BenchContext {
  flags: Flags;
  log: (line: string) => void;
  progress: Progress;
  /** Source addresses for client sockets. */
  sourceAddresses: string[];
  /** Figures of scenarios that already ran in this invocation (the peer scenario reuses them). */
  earlier: Map<string, ScenarioOutput>;
  sut: SutHandle;
}

/** The running system under test: URLs and the processes whose CPU and memory are recorded. */
export interface SutHandle {
  wsUrl: string;
  httpUrl: string;
  /** Named pids of every process on the machine that matters (stack, SUT). */
  pids(): Map<string, number>;
  gatewayPid(): number;
  /**
   * A full garbage collection in every gateway process (ops/bin/gateway.ts: SIGUSR2 when node
   * runs with --expose-gc, as the bench starts it); null for an external SUT.
   */
  collectGarbage: (() => void) | null;
  /** Restarts the persistence writer in its own process, or stops it (persist scenario). */
  persistence(running: boolean): Promise<void>;
  privateKeyPem: string;
  env: Record<string, string>;
  /** The run's topic and consumer-group namespace (IM_TOPIC_PREFIX). */
  topicPrefix: string;
  /** Prometheus endpoints of the SUT's processes (the stage breakdown reads them around each step). */
  metricsUrls: string[];
}

export interface LatencyCurveSeries {
  label: string;
  curve: PercentileCurve;
}

export interface ScenarioOutput {
  scenario: string;
  configuration: Record<string, unknown>;
  figures: Record<string, unknown>;
  latencyCurves: LatencyCurveSeries[];
  notes: string[];
  /** Tables for the reader (markdown lines; `**x**` marks a column's winner), in latest.md and the HTML report. */
  tables?: ReportTable[];
}

export interface ReportTable {
  title: string;
  lines: string[];
}

export type Scenario = (ctx: BenchContext) => Promise<ScenarioOutput>;
