import { createHistogram, recordMs, summarize, type Histogram, type LatencySummary } from '../histogram.js';
import { IntervalRecorder, addEncodedIntervals, type IntervalHistograms } from '../latency-intervals.js';
import type { CollectedPhase } from '../step-series.js';
import { stepValidity, type Validity } from '../validity.js';

/**
 * The media scenario's bookkeeping: every upload from its slot to the recipient's MEDIA_READY,
 * by the client msg_id it is sent under (and its media id once the slot gave one). Pure: the
 * scenario reports what happened, the ledger counts, times and judges it.
 */
interface Upload {
  bytes: number;
  slotAt: number;
  mediaId: string | null;
  putDoneAt: number | null;
  sentAt: number | null;
  ackedAt: number | null;
  deliveredAt: number | null;
  readyAt: number | null;
  thumbnail: boolean;
  /** Where it stopped, with the server's code: a refused slot, PUT or send. */
  refused: { stage: 'slot' | 'put' | 'send'; code: string } | null;
}

export interface MediaCounts {
  slotsAsked: number;
  slotsGranted: number;
  /** Refused slots by error code (MEDIA_TOO_LARGE, TOO_MANY_REQUESTS...). */
  slotErrors: Record<string, number>;
  /** PUTs the store accepted, and those it refused by HTTP status. */
  uploaded: number;
  uploadErrors: Record<string, number>;
  /** Granted slots whose PUT had no outcome yet. */
  uploadsInFlight: number;
  bytesUploaded: number;
  sent: number;
  acked: number;
  sendErrors: Record<string, number>;
  unanswered: number;
  /** The recipient's `message` frames of acked sends, and its MEDIA_READY events (with a thumbnail among them). */
  delivered: number;
  ready: number;
  readyWithThumbnail: number;
  /** Frames naming a media id twice, or one this run never uploaded. */
  duplicates: number;
  strays: number;
}

export interface MediaTimings {
  /** From asking for the slot until the store answered the PUT. */
  slotToPutDone: LatencySummary;
  sendToAck: LatencySummary;
  sendToDelivery: LatencySummary;
  /** From the send until the recipient's MEDIA_READY event: the time to thumbnail. */
  sendToReady: LatencySummary;
}

export interface MediaThroughput {
  /** From the first slot asked to the last PUT done. */
  seconds: number;
  uploads: number;
  uploadsPerSec: number;
  megabytesPerSec: number;
}

const bump = (r: Record<string, number>, k: string): void => void (r[k] = (r[k] ?? 0) + 1);
const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const MB = 1024 * 1024;

export class MediaLedger {
  private readonly uploads = new Map<string, Upload>();
  private readonly byMedia = new Map<string, Upload>();
  private duplicates = 0;
  private strays = 0;

  slotAsked(key: string, bytes: number, at: number): void {
    if (this.uploads.has(key)) throw new Error(`upload ${key} asked twice`);
    this.uploads.set(key, { bytes, slotAt: at, mediaId: null, putDoneAt: null, sentAt: null, ackedAt: null, deliveredAt: null, readyAt: null, thumbnail: false, refused: null });
  }

  slotGranted(key: string, mediaId: string): void {
    const u = this.get(key);
    u.mediaId = mediaId;
    this.byMedia.set(mediaId, u);
  }

  slotRefused(key: string, code: string): void {
    this.get(key).refused = { stage: 'slot', code };
  }

  putDone(key: string, at: number): void {
    this.get(key).putDoneAt = at;
  }

  putFailed(key: string, code: string): void {
    this.get(key).refused = { stage: 'put', code };
  }

  sent(key: string, at: number): void {
    this.get(key).sentAt = at;
  }

  /** The sender's ack or error frame for `key`; a second answer, or one for no send of ours, is a duplicate or a stray. */
  acked(key: string, at: number): void {
    const u = this.answerable(key);
    if (u) u.ackedAt = at;
  }

  sendRefused(key: string, code: string): void {
    const u = this.answerable(key);
    if (u) u.refused = { stage: 'send', code };
  }

  /** The recipient's `message` frame carrying this media id. */
  delivered(mediaId: string, at: number): void {
    this.firstAtRecipient(mediaId, 'deliveredAt', at);
  }

  /** The recipient's MEDIA_READY event naming this media id. */
  ready(mediaId: string, at: number, thumbnail: boolean): void {
    const u = this.firstAtRecipient(mediaId, 'readyAt', at);
    if (u) u.thumbnail = thumbnail;
  }

  /** True once nothing is waiting: every slot, PUT and send answered, every acked upload's MEDIA_READY seen. */
  settled(): boolean {
    const c = this.counts();
    return c.slotsAsked === c.slotsGranted + sum(c.slotErrors) && c.uploadsInFlight === 0 && c.unanswered === 0 && c.ready >= c.acked;
  }

  counts(): MediaCounts {
    const c: MediaCounts = { slotsAsked: 0, slotsGranted: 0, slotErrors: {}, uploaded: 0, uploadErrors: {}, uploadsInFlight: 0, bytesUploaded: 0, sent: 0, acked: 0, sendErrors: {}, unanswered: 0, delivered: 0, ready: 0, readyWithThumbnail: 0, duplicates: this.duplicates, strays: this.strays };
    for (const u of this.uploads.values()) {
      c.slotsAsked++;
      if (u.refused?.stage === 'slot') bump(c.slotErrors, u.refused.code);
      if (u.mediaId === null) continue;
      c.slotsGranted++;
      if (u.refused?.stage === 'put') bump(c.uploadErrors, u.refused.code);
      else if (u.putDoneAt === null) c.uploadsInFlight++;
      if (u.putDoneAt === null) continue;
      c.uploaded++;
      c.bytesUploaded += u.bytes;
      if (u.sentAt === null) continue;
      c.sent++;
      if (u.refused?.stage === 'send') bump(c.sendErrors, u.refused.code);
      else if (u.ackedAt === null) c.unanswered++;
      if (u.ackedAt === null) continue;
      c.acked++;
      if (u.deliveredAt !== null) c.delivered++;
      if (u.readyAt !== null) c.ready++;
      if (u.readyAt !== null && u.thumbnail) c.readyWithThumbnail++;
    }
    return c;
  }

  timings(): MediaTimings {
    const h = { slotToPutDone: createHistogram(), sendToAck: createHistogram(), sendToDelivery: createHistogram(), sendToReady: createHistogram() };
    for (const u of this.uploads.values()) {
      if (u.putDoneAt !== null) recordMs(h.slotToPutDone, u.putDoneAt - u.slotAt);
      if (u.sentAt === null || u.ackedAt === null) continue;
      recordMs(h.sendToAck, u.ackedAt - u.sentAt);
      if (u.deliveredAt !== null) recordMs(h.sendToDelivery, u.deliveredAt - u.sentAt);
      if (u.readyAt !== null) recordMs(h.sendToReady, u.readyAt - u.sentAt);
    }
    return { slotToPutDone: summarize(h.slotToPutDone), sendToAck: summarize(h.sendToAck), sendToDelivery: summarize(h.sendToDelivery), sendToReady: summarize(h.sendToReady) };
  }

  throughput(): MediaThroughput {
    let first = Infinity;
    let last = -Infinity;
    let uploads = 0;
    let bytes = 0;
    for (const u of this.uploads.values()) {
      first = Math.min(first, u.slotAt);
      if (u.putDoneAt === null) continue;
      last = Math.max(last, u.putDoneAt);
      uploads++;
      bytes += u.bytes;
    }
    const seconds = uploads > 0 ? (last - first) / 1000 : 0;
    const per = (n: number): number => (seconds > 0 ? Math.round((n / seconds) * 100) / 100 : 0);
    return { seconds: Math.round(seconds * 100) / 100, uploads, uploadsPerSec: per(uploads), megabytesPerSec: per(bytes / MB) };
  }

  /** Send→ack and send→delivery as the report's step charts draw them, by the second each arrived. */
  phase(): CollectedPhase {
    const ack: Histogram = createHistogram();
    const delivery: Histogram = createHistogram();
    const seconds = new IntervalRecorder();
    for (const u of this.uploads.values()) {
      if (u.sentAt === null || u.ackedAt === null) continue;
      recordMs(ack, u.ackedAt - u.sentAt);
      seconds.record('ack', u.ackedAt, u.ackedAt - u.sentAt);
      if (u.deliveredAt === null) continue;
      recordMs(delivery, u.deliveredAt - u.sentAt);
      seconds.record('delivery', u.deliveredAt, u.deliveredAt - u.sentAt);
    }
    const intervals: IntervalHistograms = addEncodedIntervals(new Map(), seconds.take());
    return { ackHistogram: ack, deliveryHistogram: delivery, intervals };
  }

  private get(key: string): Upload {
    const u = this.uploads.get(key);
    if (!u) throw new Error(`upload ${key} was never asked for`);
    return u;
  }

  /** Records the first time the recipient saw `mediaId` so; a second time is a duplicate, an unknown id a stray. */
  private firstAtRecipient(mediaId: string, field: 'deliveredAt' | 'readyAt', at: number): Upload | null {
    const u = this.byMedia.get(mediaId);
    if (!u) return (this.strays++, null);
    if (u[field] !== null) return (this.duplicates++, null);
    u[field] = at;
    return u;
  }

  private answerable(key: string): Upload | null {
    const u = this.uploads.get(key);
    if (!u || u.sentAt === null) return (this.strays++, null);
    if (u.ackedAt !== null || u.refused !== null) return (this.duplicates++, null);
    return u;
  }
}

/**
 * Whether the media step measured what it claims: the message accounting of every other
 * scenario (sockets open, sent = acked + errors by code, nothing unanswered), and for media every
 * slot answered, every granted slot's PUT done or refused, every upload sent, and every acked
 * upload's MEDIA_READY seen by its recipient, nothing seen twice or unasked for.
 */
export function mediaValidity(c: MediaCounts, connections: { requested: number; open: number; closes?: Record<string, number> }): Validity {
  const base = stepValidity({ connections, sent: c.sent, acked: c.acked, sendErrors: c.sendErrors, unanswered: c.unanswered, delivered: c.delivered, expectedDeliveries: c.acked });
  const reasons = [...base.reasons];
  const slotErrors = sum(c.slotErrors);
  const unansweredSlots = c.slotsAsked - c.slotsGranted - slotErrors;
  if (unansweredSlots !== 0) reasons.push(`${unansweredSlots} of ${c.slotsAsked} upload slots got no answer`);
  if (c.uploadsInFlight > 0) reasons.push(`${c.uploadsInFlight} of ${c.slotsGranted} PUTs had no answer from the store`);
  const putErrors = sum(c.uploadErrors);
  if (c.slotsGranted !== c.uploaded + putErrors + c.uploadsInFlight) reasons.push(`granted ${c.slotsGranted} != uploaded ${c.uploaded} + refused PUTs ${putErrors} + in flight ${c.uploadsInFlight}`);
  if (c.uploaded !== c.sent) reasons.push(`uploaded ${c.uploaded} but sent ${c.sent}`);
  if (c.ready < c.acked) reasons.push(`${c.acked - c.ready} of ${c.acked} acknowledged media messages never had their MEDIA_READY at the recipient`);
  if (c.duplicates > 0) reasons.push(`${c.duplicates} answers, deliveries or MEDIA_READY events seen twice`);
  if (c.strays > 0) reasons.push(`${c.strays} frames about uploads this step never made`);
  if (c.acked === 0 && c.sent > 0) reasons.push('no media message was acknowledged');
  return { valid: reasons.length === 0, reasons, missingDeliveries: base.missingDeliveries };
}
