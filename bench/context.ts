import type { Flags } from './args.js';
import type { PercentileCurve } from './histogram.js';
import type { Progress } from './progress.js';
import type { StepSeries } from './step-series.js';

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
   * A full garbage collection in every SUT process, gateway workers and processors (SIGUSR2,
   * core/heap.ts, when node runs with --expose-gc, as the bench starts them); null for an external SUT.
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
  /** The SUT's processes, to kill, stop and restart (faults); absent for an external SUT. */
  processes?: () => SutProcess[];
}

/** One process of a SUT the bench started. */
export interface SutProcess {
  name: string;
  role: 'gateway' | 'processors';
  /** host:port of its /metrics and /readyz. */
  address: string;
  /** A gateway's WebSocket URL. */
  wsUrl?: string;
  pid(): number;
  alive(): boolean;
  /** Starts it again after it died (same settings, gateway id included) and waits for /readyz. */
  restart(): Promise<void>;
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
  /** Per step: latency distributions, latency per second, CPU per process (the report's charts and tables). */
  steps?: StepSeries[];
}

export interface ReportTable {
  title: string;
  lines: string[];
}

export type Scenario = (ctx: BenchContext) => Promise<ScenarioOutput>;
