import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { intFlag, listFlag } from '../args.js';
import type { BaselineCollect, BaselineRequest } from '../baseline-node.js';
import { HOPS } from '../baseline-node.js';
import { nowMs } from '../clock.js';
import type { BenchContext, ScenarioOutput } from '../context.js';
import { decodeHistogram, percentileCurve, summarize, type LatencySummary } from '../histogram.js';
import { brokers } from '../kafka-admin.js';
import { CpuMeter } from '../procstat.js';
import type { RateStep } from './direct.js';
import { round } from './common.js';

const NODE = fileURLToPath(new URL('../baseline-node.ts', import.meta.url));

class BaselineProcess {
  readonly child: ChildProcess;
  private id = 0;
  private readonly waiting = new Map<number, (r: { ok: boolean; body?: unknown; error?: string }) => void>();
  constructor(readonly role: string) {
    this.child = fork(NODE, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { id: number; ok: boolean; body?: unknown; error?: string }) => {
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
    });
  }
  call<T>(req: BaselineRequest): Promise<T> {
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (r) => (r.ok ? resolve(r.body as T) : reject(new Error(`baseline ${this.role}: ${r.error}`))));
      this.child.send({ ...req, id });
    });
  }
}

export interface BaselineStep {
  rate: number;
  sent: number;
  delivered: number;
  sendToAck: LatencySummary;
  sendToDelivery: LatencySummary;
  cpu: Record<string, number>;
}

/** Pipeline latency over bare Kafka latency at the same rate (>1: the pipeline's own cost). */
export function baselineRatios(pipeline: readonly Pick<RateStep, 'rate' | 'sendToDelivery'>[], baseline: readonly BaselineStep[]): { rate: number; p50: number; p99: number }[] {
  const out: { rate: number; p50: number; p99: number }[] = [];
  for (const b of baseline) {
    const p = pipeline.find((s) => s.rate === b.rate);
    if (!p || b.sendToDelivery.p50 <= 0 || b.sendToDelivery.p99 <= 0) continue;
    out.push({ rate: b.rate, p50: round(p.sendToDelivery.p50 / b.sendToDelivery.p50), p99: round(p.sendToDelivery.p99 / b.sendToDelivery.p99) });
  }
  return out;
}

/**
 * The same 1:1 traffic as bare Kafka round trips through as many topics as the pipeline has
 * relays before delivery (`--hops`, default 1: ingress -> msg.stamped, as the pipeline's plan): an edge process
 * produces and consumes the last hop, a relay process forwards every hop, without logic.
 */
export async function baselineScenario(ctx: BenchContext): Promise<ScenarioOutput> {
  const rates = listFlag(ctx.flags, 'rates', [250, 500, 1000]);
  const seconds = intFlag(ctx.flags, 'seconds', 10);
  const pairs = intFlag(ctx.flags, 'pairs', 500);
  const hops = intFlag(ctx.flags, 'hops', HOPS);
  const run = randomUUID().slice(0, 8);
  const relay = new BaselineProcess('relay');
  const edge = new BaselineProcess('edge');
  const meter = new CpuMeter(() => new Map([...ctx.sut.pids(), ['bench-baseline-relay', relay.child.pid ?? 0], ['bench-baseline-edge', edge.child.pid ?? 0]]));
  const steps: BaselineStep[] = [];
  const curves: ScenarioOutput['latencyCurves'] = [];
  try {
    await edge.call({ op: 'start', role: 'edge', run, brokers: brokers(), partitions: 6, hops });
    await relay.call({ op: 'start', role: 'relay', run, brokers: brokers(), partitions: 6, hops });
    const once = async (rate: number, secs: number): Promise<BaselineStep> => {
      meter.begin();
      await edge.call({ op: 'send', rate, durationMs: secs * 1000, startAt: nowMs() + 200, pairs, drainMs: 5000 });
      const cpu = meter.end();
      const c = await edge.call<BaselineCollect>({ op: 'collect' });
      const del = decodeHistogram(c.sendDelivery);
      curves.push({ label: `kafka ${rate}/s delivery`, curve: percentileCurve(del) });
      return { rate, sent: c.sent, delivered: c.delivered, sendToAck: summarize(decodeHistogram(c.sendAck)), sendToDelivery: summarize(del), cpu };
    };
    await once(Math.min(100, rates[0] ?? 100), 3);
    curves.length = 0;
    for (const rate of rates) {
      const s = await once(rate, seconds);
      steps.push(s);
      ctx.log(`[baseline] ${rate}/s: ${s.delivered}/${s.sent} through ${hops} hops, ack p50 ${s.sendToAck.p50} ms, delivery p50 ${s.sendToDelivery.p50} p99 ${s.sendToDelivery.p99} ms`);
    }
  } finally {
    await Promise.allSettled([relay.call({ op: 'stop' }), edge.call({ op: 'stop' })]);
  }
  const direct = ctx.earlier.get('direct')?.figures.steps as RateStep[] | undefined;
  return {
    scenario: 'baseline',
    configuration: { rates, seconds, pairs, hops, partitions: 6, acks: 'all', client: 'kafkajs', payload: 'JSON send_msg-sized' },
    figures: { steps, ratios: direct ? baselineRatios(direct, steps) : null },
    latencyCurves: curves,
    notes: direct ? [] : ['run the direct scenario in the same invocation to get pipeline/baseline ratios (or use bench/compare.ts)'],
  };
}
