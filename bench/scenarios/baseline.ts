import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KAFKA_CLIENTS, type KafkaClientName, type KafkaTuning } from '../../streams/index.js';
import { intFlag, listFlag, strFlag } from '../args.js';
import type { BaselineCollect, BaselineFailure, BaselineRequest } from '../baseline-node.js';
import { HOPS } from '../baseline-node.js';
import { clientTable, cpuMsPer1k, highestRatePerCore, parseTuning, type ClientRun, type ClientStep } from '../client-table.js';
import { nowMs } from '../clock.js';
import type { BenchContext, ScenarioOutput } from '../context.js';
import { decodeHistogram, percentileCurve, summarize } from '../histogram.js';
import { benchKafkaClient, brokers } from '../kafka-admin.js';
import { CpuMeter } from '../procstat.js';
import type { RateStep } from './direct.js';
import { round } from './common.js';
import { derivedInvalid, type Validity } from '../validity.js';

const NODE = fileURLToPath(new URL('../baseline-node.ts', import.meta.url));

/** A request that failed in the baseline process, with its error code (KAFKA_CLIENT_MISSING: package not installed). */
class BaselineError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

class BaselineProcess {
  readonly child: ChildProcess;
  private id = 0;
  private readonly waiting = new Map<number, (r: { ok: boolean; body?: unknown } & Partial<BaselineFailure>) => void>();
  constructor(readonly role: string) {
    this.child = fork(NODE, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { id: number; ok: boolean; body?: unknown } & Partial<BaselineFailure>) => {
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
    });
    // A process that dies answers nothing more: its callers hear it now, not at their timeout.
    this.child.on('exit', (code, signal) => {
      for (const w of this.waiting.values()) w({ ok: false, error: `exited (${signal ?? code})` });
      this.waiting.clear();
    });
  }
  call<T>(req: BaselineRequest, timeoutMs: number): Promise<T> {
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new BaselineError(`baseline ${this.role}: ${req.op} got no answer in ${timeoutMs / 1000} s`, 'TIMEOUT'));
      }, timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        if (r.ok) resolve(r.body as T);
        else reject(new BaselineError(`baseline ${this.role}: ${r.error}`, r.code));
      });
      if (this.child.connected) this.child.send({ ...req, id });
    });
  }
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Pipeline over bare Kafka at one rate; no ratio (null, and `invalid` says why) where the platform's step was INVALID. */
export interface BaselineRatio {
  rate: number;
  p50: number | null;
  p99: number | null;
  invalid?: string;
}

/** Pipeline latency over bare Kafka latency at the same rate (>1: the pipeline's own cost). */
export function baselineRatios(pipeline: readonly (Pick<RateStep, 'rate' | 'sendToDelivery'> & { validity?: Validity })[], baseline: readonly Pick<ClientStep, 'rate' | 'sendToDelivery'>[]): BaselineRatio[] {
  const out: BaselineRatio[] = [];
  for (const b of baseline) {
    const p = pipeline.find((s) => s.rate === b.rate);
    if (!p || b.sendToDelivery.p50 <= 0 || b.sendToDelivery.p99 <= 0) continue;
    const invalid = derivedInvalid([{ name: `direct ${p.rate}/s`, validity: p.validity }]);
    if (invalid) out.push({ rate: b.rate, p50: null, p99: null, invalid });
    else out.push({ rate: b.rate, p50: round(p.sendToDelivery.p50 / b.sendToDelivery.p50), p99: round(p.sendToDelivery.p99 / b.sendToDelivery.p99) });
  }
  return out;
}

/** The figures of the baseline scenario. */
export interface BaselineFigures {
  runs: ClientRun[];
  /** The client and hops the platform runs on: what the pipeline/bare ratio compares with. */
  platform: { client: KafkaClientName; hops: number };
  /** Pipeline over bare Kafka on the platform's client and hops (null without a direct run). */
  ratios: BaselineRatio[] | null;
  brokerPid: number | null;
}

/** The broker's pid among the stack's, checked to be Kafka's JVM: its CPU is reported apart. */
function brokerPid(pids: Map<string, number>): number | null {
  const pid = pids.get('kafka');
  if (!pid) return null;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka') ? pid : null;
  } catch {
    return null;
  }
}

const parseClients = (text: string): KafkaClientName[] =>
  text.split(',').map((c) => {
    const name = c.trim();
    if (!(KAFKA_CLIENTS as readonly string[]).includes(name)) throw new Error(`--clients: unknown client ${name} (known: ${KAFKA_CLIENTS.join(', ')})`);
    return name as KafkaClientName;
  });

/**
 * The same 1:1 traffic as bare Kafka round trips, on each client library (`--clients`) and
 * through as many relays (`--hops`: 1 is the pipeline's plan, ingress -> msg.stamped): an edge
 * process produces and consumes the last hop, a relay process forwards every hop, without logic,
 * both on the client under test. Every client and hop count gets fresh topics, deleted after.
 */
export async function baselineScenario(ctx: BenchContext): Promise<ScenarioOutput> {
  const o = {
    clients: parseClients(strFlag(ctx.flags, 'clients', KAFKA_CLIENTS.join(','))),
    hops: listFlag(ctx.flags, 'hops', [1, 2]),
    // Its own rates when the direct scenario's --rates are for the pipeline.
    rates: listFlag(ctx.flags, 'baseline-rates', listFlag(ctx.flags, 'rates', [1000, 5000])),
    seconds: intFlag(ctx.flags, 'seconds', 10),
    pairs: intFlag(ctx.flags, 'pairs', 500),
    p99BoundMs: intFlag(ctx.flags, 'p99-ms', 100),
    tuning: parseTuning(ctx.flags.get('tuning')),
    partitions: 6,
  };
  const broker = brokerPid(ctx.sut.pids());
  const notes: string[] = [];
  if (broker === null) notes.push("the Kafka broker's pid was not found among the stack's (or is not kafka.Kafka): broker CPU not measured");
  const runs: ClientRun[] = [];
  const curves: ScenarioOutput['latencyCurves'] = [];
  const run = randomUUID().slice(0, 8);
  for (const client of o.clients) {
    for (const hops of o.hops) {
      const r = await measureClient(ctx, { ...o, client, hops, run: `${run}.${client}.h${hops}`, broker }, curves);
      runs.push(r);
    }
  }
  const platform = { client: benchKafkaClient(), hops: HOPS };
  const direct = ctx.earlier.get('direct')?.figures.steps as RateStep[] | undefined;
  const platformRun = runs.find((r) => r.client === platform.client && r.hops === platform.hops && r.status === 'measured');
  if (!platformRun) notes.push(`the platform's client (${platform.client}) at the plan's ${platform.hops} hop(s) was not measured: no pipeline/bare ratio`);
  else if (!direct) notes.push('run the direct scenario in the same invocation to get pipeline/baseline ratios (or use bench/compare.ts)');
  const figures: BaselineFigures = { runs, platform, ratios: direct && platformRun ? baselineRatios(direct, platformRun.steps.filter((s) => s.complete)) : null, brokerPid: broker };
  return {
    scenario: 'baseline',
    configuration: { ...o, acks: 'all', payload: 'JSON send_msg-sized', platform },
    figures: figures as unknown as Record<string, unknown>,
    latencyCurves: curves,
    notes,
    tables: [{ title: `Kafka clients: bare 1:1 traffic through ${o.hops.join(' and ')} relay${o.hops.length > 1 || o.hops[0] !== 1 ? 's' : ''}${Object.keys(o.tuning).length ? `, tuning ${JSON.stringify(o.tuning)}` : ''}`, lines: clientTable(runs, o.p99BoundMs) }],
  };
}

interface ClientPlan {
  client: KafkaClientName;
  hops: number;
  run: string;
  rates: number[];
  seconds: number;
  pairs: number;
  p99BoundMs: number;
  tuning: KafkaTuning;
  partitions: number;
  broker: number | null;
}

/** One client at one hop count: its own relay and edge processes, its own topics, every rate. */
async function measureClient(ctx: BenchContext, p: ClientPlan, curves: ScenarioOutput['latencyCurves']): Promise<ClientRun> {
  const result: ClientRun = { client: p.client, hops: p.hops, status: 'measured', reason: null, steps: [], ratePerCore: null };
  const relay = new BaselineProcess('relay');
  const edge = new BaselineProcess('edge');
  const names = { relay: 'bench-baseline-relay', edge: 'bench-baseline-edge' };
  const meter = new CpuMeter(() => new Map([...ctx.sut.pids(), [names.relay, relay.child.pid ?? 0], [names.edge, edge.child.pid ?? 0]]));
  const label = `${p.client} ${p.hops} hop${p.hops > 1 ? 's' : ''}`;
  try {
    const start = { op: 'start' as const, client: p.client, tuning: p.tuning, run: p.run, brokers: brokers(), partitions: p.partitions, hops: p.hops };
    await edge.call({ ...start, role: 'edge' }, 90_000);
    await relay.call({ ...start, role: 'relay' }, 90_000);
    let stepId = 0;
    const once = async (rate: number, seconds: number): Promise<ClientStep> => {
      meter.begin();
      const t0 = performance.now();
      const drainMs = 5000;
      await edge.call({ op: 'send', step: ++stepId, rate, durationMs: seconds * 1000, startAt: nowMs() + 200, pairs: p.pairs, drainMs }, seconds * 1000 + drainMs + 60_000);
      const cpu = meter.end();
      const cpuSeconds = (performance.now() - t0) / 1000;
      const c = await edge.call<BaselineCollect>({ op: 'collect' }, 30_000);
      const del = decodeHistogram(c.sendDelivery);
      curves.push({ label: `${label} ${rate}/s delivery`, curve: percentileCurve(del) });
      const clientCores = cpu[names.relay] !== undefined && cpu[names.edge] !== undefined ? cpu[names.relay]! + cpu[names.edge]! : undefined;
      return {
        rate,
        seconds,
        sent: c.sent,
        acked: c.acked,
        delivered: c.delivered,
        complete: c.sent > 0 && c.delivered >= c.sent,
        sendToAck: summarize(decodeHistogram(c.sendAck)),
        sendToDelivery: summarize(del),
        cpu,
        cpuSeconds: Math.round(cpuSeconds * 100) / 100,
        clientCpuMsPer1k: cpuMsPer1k(clientCores, cpuSeconds, c.delivered),
        brokerCpuMsPer1k: p.broker === null ? null : cpuMsPer1k(cpu.kafka, cpuSeconds, c.delivered),
      };
    };
    await once(Math.min(100, p.rates[0] ?? 100), 3);
    curves.length = Math.max(0, curves.length - 1);
    for (const rate of p.rates) {
      const s = await once(rate, p.seconds);
      result.steps.push(s);
      ctx.log(
        `[baseline] ${label} ${rate}/s: ${s.complete ? '' : 'PARTIAL '}${s.delivered}/${s.sent}, ack p50 ${s.sendToAck.p50} p99 ${s.sendToAck.p99} ms, delivery p50 ${s.sendToDelivery.p50} p99 ${s.sendToDelivery.p99} ms, CPU per 1k records: client ${s.clientCpuMsPer1k ?? 'n/a'} ms, broker ${s.brokerCpuMsPer1k ?? 'n/a'} ms`,
      );
    }
  } catch (err) {
    const missing = err instanceof BaselineError && err.code === 'KAFKA_CLIENT_MISSING';
    result.status = missing ? 'not installed' : 'failed';
    result.reason = (err as Error).message;
    ctx.log(`[baseline] ${label}: ${result.status}: ${result.reason}`);
  } finally {
    // The relay leaves its groups first, so the edge can delete the run's topics and groups.
    await relay.call({ op: 'stop' }, 60_000).catch(() => relay.kill());
    await edge.call({ op: 'stop' }, 60_000).catch((err: unknown) => ctx.log(`[baseline] ${label}: cleanup failed: ${(err as Error).message}`));
    relay.kill();
    edge.kill();
  }
  result.ratePerCore = highestRatePerCore(result.steps, p.p99BoundMs);
  return result;
}
