import { describe, expect, it } from 'vitest';
import { MediaLedger, mediaValidity } from './media-ledger.js';

const MB2 = 2 * 1024 * 1024;
const sockets = { requested: 4, open: 4 };

/** One upload through every stage: slot at t, PUT done at t+100, sent at t+110, acked t+130, delivered t+150, ready t+900. */
function full(l: MediaLedger, key: string, t: number, thumbnail = true): void {
  l.slotAsked(key, MB2, t);
  l.slotGranted(key, `m-${key}`);
  l.putDone(key, t + 100);
  l.sent(key, t + 110);
  l.acked(key, t + 130);
  l.delivered(`m-${key}`, t + 150);
  l.ready(`m-${key}`, t + 910, thumbnail);
}

describe('media bench ledger', () => {
  it('accounts every upload from slot to MEDIA_READY and times each stage', () => {
    const l = new MediaLedger();
    for (let i = 0; i < 4; i++) full(l, `k${i}`, 1000 * i);
    const c = l.counts();
    expect(c).toMatchObject({ slotsAsked: 4, slotsGranted: 4, uploaded: 4, bytesUploaded: 4 * MB2, sent: 4, acked: 4, unanswered: 0, delivered: 4, ready: 4, readyWithThumbnail: 4 });
    expect(l.settled()).toBe(true);
    expect(mediaValidity(c, sockets)).toEqual({ valid: true, reasons: [], missingDeliveries: 0 });
    const t = l.timings();
    // HDR keeps 3 significant digits: whole milliseconds here.
    expect([t.slotToPutDone.p50, t.sendToAck.p50, t.sendToDelivery.p50, t.sendToReady.p50].map(Math.round)).toEqual([100, 20, 40, 800]);
    // 4 uploads of 2 MiB between the first slot (0) and the last PUT done (3100 ms).
    expect(l.throughput()).toEqual({ seconds: 3.1, uploads: 4, uploadsPerSec: 1.29, megabytesPerSec: 2.58 });
    const phase = l.phase();
    expect([phase.ackHistogram.totalCount, phase.deliveryHistogram.totalCount]).toEqual([4, 4]);
  });

  it('counts refusals by code at each stage, and a step with them accounted for is valid', () => {
    const l = new MediaLedger();
    full(l, 'ok', 0);
    l.slotAsked('big', 50 * MB2, 0);
    l.slotRefused('big', 'MEDIA_TOO_LARGE');
    l.slotAsked('put', MB2, 0);
    l.slotGranted('put', 'm-put');
    l.putFailed('put', 'HTTP_403');
    l.slotAsked('mis', MB2, 0);
    l.slotGranted('mis', 'm-mis');
    l.putDone('mis', 10);
    l.sent('mis', 11);
    l.sendRefused('mis', 'MEDIA_MISMATCH');
    const c = l.counts();
    expect(c).toMatchObject({ slotsAsked: 4, slotsGranted: 3, slotErrors: { MEDIA_TOO_LARGE: 1 }, uploadErrors: { HTTP_403: 1 }, uploaded: 2, sent: 2, acked: 1, sendErrors: { MEDIA_MISMATCH: 1 }, ready: 1 });
    expect(l.settled()).toBe(true);
    expect(mediaValidity(c, sockets).valid).toBe(true);
  });

  it('is INVALID while anything is unanswered or a MEDIA_READY is missing', () => {
    const l = new MediaLedger();
    full(l, 'ok', 0);
    l.slotAsked('slot', MB2, 0);
    l.slotAsked('put', MB2, 0);
    l.slotGranted('put', 'm-put');
    l.slotAsked('send', MB2, 0);
    l.slotGranted('send', 'm-send');
    l.putDone('send', 5);
    l.sent('send', 6);
    l.slotAsked('thumb', MB2, 0);
    l.slotGranted('thumb', 'm-thumb');
    l.putDone('thumb', 5);
    l.sent('thumb', 6);
    l.acked('thumb', 7);
    expect(l.settled()).toBe(false);
    const v = mediaValidity(l.counts(), sockets);
    expect(v.valid).toBe(false);
    expect(v.reasons).toEqual([
      '1 of 3 sends got neither an ack nor an error before the step ended',
      '1 of 5 upload slots got no answer',
      '1 of 4 PUTs had no answer from the store',
      '1 of 2 acknowledged media messages never had their MEDIA_READY at the recipient',
    ]);
    // A missing delivery of an acked send is a measured loss, not an accounting gap.
    expect(v.missingDeliveries).toBe(1);
  });

  it('is INVALID for frames seen twice, about uploads it never made, or closed sockets', () => {
    const l = new MediaLedger();
    full(l, 'a', 0);
    l.acked('a', 500);
    l.ready('m-a', 600, true);
    l.delivered('m-elsewhere', 700);
    const v = mediaValidity(l.counts(), { requested: 4, open: 3, closes: { '1006': 1 } });
    expect(v.reasons).toEqual(['only 3 of 4 sockets open (closed with 1× 1006)', '2 answers, deliveries or MEDIA_READY events seen twice', '1 frames about uploads this step never made']);
  });

  it('refuses a step that sent nothing or had nothing acknowledged', () => {
    expect(mediaValidity(new MediaLedger().counts(), sockets).reasons).toEqual(['nothing was sent']);
    const l = new MediaLedger();
    l.slotAsked('x', MB2, 0);
    l.slotGranted('x', 'm-x');
    l.putDone('x', 1);
    l.sent('x', 2);
    l.sendRefused('x', 'MEDIA_NOT_FOUND');
    expect(mediaValidity(l.counts(), sockets).reasons).toEqual(['no media message was acknowledged']);
  });
});
