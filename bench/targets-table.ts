import { baselineRatios, type BaselineFigures } from './scenarios/baseline.js';
import type { RateStep } from './scenarios/direct.js';
import { derivedInvalid } from './validity.js';

/**
 * Issue 8's targets against one invocation's figures: the direct scenario's steps and the
 * baseline's platform client at the plan's hops. A figure that could not be measured says why
 * and is never a pass; one that depends on an INVALID step is INVALID, with the step and why.
 */
export type TargetVerdict = 'GOAL' | 'PASS' | 'FAIL' | 'NOT MEASURED' | 'INVALID' | 'reported';

export interface TargetRow {
  target: string;
  measured: string;
  firstBar: string;
  goal: string;
  verdict: TargetVerdict;
  /** Why a figure is missing, or what qualifies it. */
  note: string | null;
}

export interface TargetInputs {
  direct: { steps: readonly RateStep[]; persistence: boolean } | null;
  baseline: Pick<BaselineFigures, 'platform' | 'runs'> | null;
}

/** The rate the latency targets are set at. */
export const TARGET_RATE = 1000;
const P99_BOUND_MS = 100;

const ms = (v: number): string => String(Math.round(v * 10) / 10);
const grade = (value: number, bar: number, goal: number): TargetVerdict => (value <= goal ? 'GOAL' : value <= bar ? 'PASS' : 'FAIL');
const worst = (verdicts: TargetVerdict[]): TargetVerdict => (verdicts.includes('FAIL') ? 'FAIL' : verdicts.includes('PASS') ? 'PASS' : 'GOAL');
const notMeasured = (target: string, firstBar: string, goal: string, note: string): TargetRow => ({ target, measured: '—', firstBar, goal, verdict: 'NOT MEASURED', note });
const invalid = (target: string, firstBar: string, goal: string, note: string): TargetRow => ({ target, measured: '—', firstBar, goal, verdict: 'INVALID', note });
const stepName = (s: RateStep): string => `${s.rate} msg/s`;
const valid = (steps: readonly RateStep[]): RateStep[] => steps.filter((s) => s.validity.valid);

/** Every message delivered: sent = delivered, nothing refused or lost. */
const allDelivered = (s: RateStep): boolean => s.sent > 0 && s.delivered >= s.sent;

function highestRate(steps: readonly RateStep[]): TargetRow {
  const target = `highest 1:1 rate with send→delivery p99 < ${P99_BOUND_MS} ms, every message delivered`;
  const [firstBar, goal] = ['≥ 2,000 msg/s', '20,000 msg/s'];
  // An INVALID step neither holds nor fails a rate: judged on the valid steps only.
  const measured = valid(steps);
  const held = measured.filter((s) => allDelivered(s) && s.sendToDelivery.p99 < P99_BOUND_MS);
  const best = held.reduce<RateStep | null>((b, s) => (!b || s.rate > b.rate ? s : b), null);
  const failedAbove = measured.filter((s) => !held.includes(s) && (!best || s.rate > best.rate));
  // The highest rate lies between the best that held and the lowest above it that did not: an
  // INVALID step in between could have been either, so the figure is not known.
  const ceiling = failedAbove.length ? Math.min(...failedAbove.map((s) => s.rate)) : Number.POSITIVE_INFINITY;
  const unknown = steps.filter((s) => !s.validity.valid && s.rate > (best?.rate ?? 0) && s.rate < ceiling);
  if (unknown.length > 0) {
    const range = `${best ? ` above ${best.rate} msg/s (held)` : ''}${Number.isFinite(ceiling) ? ` below ${ceiling} msg/s (did not hold)` : ''}`;
    return invalid(target, firstBar, goal, `${derivedInvalid(unknown.map((s) => ({ name: stepName(s), validity: s.validity })))}: the highest rate held is not known${range}`);
  }
  if (!best && measured.length === 0) return notMeasured(target, firstBar, goal, 'no valid direct step');
  if (!best) return { target, measured: `none of ${measured.map((s) => s.rate).join(', ')} msg/s held`, firstBar, goal, verdict: 'FAIL', note: null };
  if (failedAbove.length === 0 && best.rate < 2000)
    return notMeasured(target, firstBar, goal, `every tried rate held, up to ${best.rate} msg/s: the maximum is higher than tried (raise --rates or let the search run)`);
  const verdict: TargetVerdict = best.rate >= 20_000 ? 'GOAL' : best.rate >= 2000 ? 'PASS' : 'FAIL';
  const note = failedAbove.length === 0 ? 'every tried rate held: the maximum is at least this' : `next rate tried, ${ceiling} msg/s, did not hold`;
  return { target, measured: `${best.rate} msg/s`, firstBar, goal, verdict, note };
}

function latencyAt(steps: readonly RateStep[]): TargetRow {
  const target = `at ${TARGET_RATE.toLocaleString('en')} msg/s: send→ack p50 / send→delivery p50 / p99`;
  const [firstBar, goal] = ['≤ 5 / ≤ 10 / ≤ 50 ms', '2 / 4 / 15 ms'];
  const s = steps.find((x) => x.rate === TARGET_RATE);
  if (!s) return notMeasured(target, firstBar, goal, `no direct step at ${TARGET_RATE} msg/s (include it in --rates)`);
  const why = derivedInvalid([{ name: stepName(s), validity: s.validity }]);
  if (why) return invalid(target, firstBar, goal, why);
  const measured = `${ms(s.sendToAck.p50)} / ${ms(s.sendToDelivery.p50)} / ${ms(s.sendToDelivery.p99)} ms`;
  if (!allDelivered(s)) return { target, measured, firstBar, goal, verdict: 'FAIL', note: `${s.delivered} of ${s.sent} messages delivered` };
  return { target, measured, firstBar, goal, verdict: worst([grade(s.sendToAck.p50, 5, 2), grade(s.sendToDelivery.p50, 10, 4), grade(s.sendToDelivery.p99, 50, 15)]), note: null };
}

function pipelineOverBare(steps: readonly RateStep[], baseline: TargetInputs['baseline']): TargetRow {
  const [firstBar, goal] = ['≤ 1.5', '≤ 1.2'];
  if (!baseline) return notMeasured('pipeline ÷ bare Kafka with the same hops and client, send→delivery p50', firstBar, goal, 'the baseline scenario did not run in this invocation');
  const { client, hops } = baseline.platform;
  const target = `pipeline ÷ bare Kafka (${client}, ${hops} hop${hops > 1 ? 's' : ''}), send→delivery p50`;
  const run = baseline.runs.find((r) => r.client === client && r.hops === hops);
  if (!run || run.status !== 'measured') return notMeasured(target, firstBar, goal, `the platform's client ${client} at ${hops} hop(s) was not measured${run?.reason ? `: ${run.reason}` : ''}`);
  const ratios = baselineRatios(steps, run.steps.filter((s) => s.complete));
  const r = ratios.find((x) => x.rate === TARGET_RATE) ?? ratios.find((x) => x.p50 !== null) ?? ratios[0];
  if (!r) return notMeasured(target, firstBar, goal, `no rate both ran with everything delivered (direct ${steps.map((s) => s.rate).join(', ')}; baseline ${run.steps.map((s) => s.rate).join(', ')} msg/s)`);
  if (r.p50 === null) return invalid(`${target} at ${r.rate} msg/s`, firstBar, goal, r.invalid ?? 'no ratio');
  return { target: `${target} at ${r.rate} msg/s`, measured: `×${r.p50}`, firstBar, goal, verdict: grade(r.p50, 1.5, 1.2), note: `p99 ×${r.p99}` };
}

/** CPU time of every process per delivered message: the SUT and the stack, and the generator beside. */
function cpuPerMessage(steps: readonly RateStep[]): TargetRow {
  const target = 'CPU per delivered message, all processes summed';
  const s = steps.find((x) => x.rate === TARGET_RATE) ?? [...steps].sort((a, b) => b.rate - a.rate)[0];
  if (!s || s.delivered === 0 || !(s.cpuSeconds > 0)) return notMeasured(target, 'reported', '—', 'no valid direct step with deliveries');
  const msPer = (cores: number): string => ms((cores * s.cpuSeconds * 1000) / s.delivered);
  let platform = 0;
  let generator = 0;
  for (const [name, cores] of Object.entries(s.cpu)) {
    if (name.startsWith('machine:')) continue;
    if (name.startsWith('bench-worker')) generator += cores;
    else platform += cores;
  }
  return { target: `${target} (at ${s.rate} msg/s)`, measured: `${msPer(platform)} ms`, firstBar: 'reported', goal: '—', verdict: 'reported', note: `SUT and stack (Kafka, registry, MongoDB, Redis); the load generator adds ${msPer(generator)} ms` };
}

export function targetRows(inputs: TargetInputs): TargetRow[] {
  if (!inputs.direct) {
    return [
      notMeasured(`highest 1:1 rate with send→delivery p99 < ${P99_BOUND_MS} ms, every message delivered`, '≥ 2,000 msg/s', '20,000 msg/s', 'the direct scenario did not run'),
      notMeasured(`at ${TARGET_RATE.toLocaleString('en')} msg/s: send→ack p50 / send→delivery p50 / p99`, '≤ 5 / ≤ 10 / ≤ 50 ms', '2 / 4 / 15 ms', 'the direct scenario did not run'),
      notMeasured('pipeline ÷ bare Kafka with the same hops and client, send→delivery p50', '≤ 1.5', '≤ 1.2', 'the direct scenario did not run'),
      notMeasured('CPU per delivered message, all processes summed', 'reported', '—', 'the direct scenario did not run'),
    ];
  }
  // An INVALID step is no measurement: it neither passes nor fails a target, and a target
  // that needs it is INVALID (each figure says which step and why).
  const steps = inputs.direct.steps;
  return [highestRate(steps), latencyAt(steps), pipelineOverBare(steps, inputs.baseline), cpuPerMessage(valid(steps))];
}

export function targetsTable(inputs: TargetInputs): string[] {
  const rows = targetRows(inputs);
  return [
    '| target | measured | first bar | goal | verdict |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.target} | ${r.measured}${r.note ? ` (${r.note})` : ''} | ${r.firstBar} | ${r.goal} | ${r.verdict === 'GOAL' || r.verdict === 'PASS' ? `**${r.verdict}**` : r.verdict} |`),
    '',
    '- GOAL: the goal is met (and so the first bar); PASS: the first bar is met; NOT MEASURED and INVALID (a step it needs did not measure what it claims) are never a pass',
    ...(inputs.direct && !inputs.direct.persistence ? ['- the persistence writer was stopped during the direct steps (--persistence false): not the whole platform'] : []),
  ];
}
