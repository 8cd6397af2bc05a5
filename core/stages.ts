import { ACCEPTED_AT_HEADER } from './logger.js';
import { histogram } from './metrics.js';

/**
 * Where the time of one message goes. A record that descends from a frame the gateway accepted
 * (it carries ACCEPTED_AT_HEADER) also carries the last stage it passed and when, beside the
 * correlation id. Each stage observes two figures and stamps itself:
 * - `im_stage_seconds{stage}`: time since the gateway accepted the frame (cumulative);
 * - `im_stage_step_seconds{stage,from}`: time since the stage before it (the increment), so the
 *   increments along one record's path add up to its total.
 * Stage names are `<where>:<what>`: `gateway:accepted` (implicit), `ingress:sent`,
 * `<task>:consumed` / `:sent` / `:acked` (a sub-topology, named after its first processor;
 * `:acked` is the producer hearing the ack, beside the road), `<task>:effects` (the batch's
 * outputs acknowledged, its inlined effects start),
 * `<processor>:in` / `:processed`, `push-realtime:published:<frame type>`,
 * `gateway:received:<frame type>`, `gateway:written:<frame type>`. Times are whole
 * milliseconds (Date.now, the only clock every process shares).
 */
export const STAGE_HEADER = 'im-stage';
export const STAGE_AT_HEADER = 'im-stage-at';
/** The stage of a record that has no STAGE_HEADER yet. */
export const ACCEPTED_STAGE = 'gateway:accepted';

/** 0.5 ms to 10 s like every latency here: whole-millisecond increments of 0 land in the first bucket. */
export const stageMetrics = {
  sinceAccepted: histogram('im_stage_seconds', 'Time since the gateway accepted the frame, at each stage of its path', ['stage']),
  step: histogram('im_stage_step_seconds', 'Time since the stage before (label from), at each stage of a message\'s path', ['stage', 'from']),
};

/** Observes both figures of `stage` for a record last seen at `from` (times in ms since the epoch). */
export function observeStage(stage: string, from: string, fromAt: number, acceptedAt: number, now: number): void {
  stageMetrics.sinceAccepted.observe({ stage }, Math.max(0, now - acceptedAt) / 1000);
  stageMetrics.step.observe({ stage, from }, Math.max(0, now - fromAt) / 1000);
}

/**
 * The record reached `stage`: observed, and stamped in its headers for the next stage. Records
 * that do not descend from a gateway frame are left alone, and a record already at `stage`
 * (outputs sharing their headers) is not counted twice.
 */
export function passStage(headers: Record<string, string>, stage: string, now = Date.now()): void {
  if (!reachStage(headers, stage, now)) return;
  headers[STAGE_HEADER] = stage;
  headers[STAGE_AT_HEADER] = String(now);
}

/**
 * Observes `stage` without stamping it: a stage off the record's onward path (a producer hearing
 * its ack while the record already travels on). True when something was observed.
 */
export function reachStage(headers: Readonly<Record<string, string>>, stage: string, now = Date.now()): boolean {
  const acceptedAt = Number(headers[ACCEPTED_AT_HEADER]);
  if (!(acceptedAt > 0)) return false;
  const from = headers[STAGE_HEADER] ?? ACCEPTED_STAGE;
  if (from === stage) return false;
  const fromAt = from === ACCEPTED_STAGE ? acceptedAt : Number(headers[STAGE_AT_HEADER]);
  observeStage(stage, from, fromAt > 0 ? fromAt : acceptedAt, acceptedAt, now);
  return true;
}
