import { describe, expect, it } from 'vitest';
import { faultTable, type FaultFigures } from '../scenarios/faults.js';

const books = { sent: 10, acked: 10, unanswered: 0, expectedDeliveries: 14, delivered: 14, deliveredLive: 12, deliveredBySync: 2, stored: 10, lostDeliveries: 0, lostStored: 0, duplicates: 0, storedTwice: 0, gaps: 0, violations: [] };
const row = (over: Partial<FaultFigures>): FaultFigures => ({
  fault: 'redis-restart',
  action: 'Redis SIGKILLed and restarted empty',
  faultSec: 3,
  books,
  recovery: { ackSec: 0.5, deliverySec: 1.2 },
  broker: null,
  duringFault: { acksPerSec: 48, deliveriesPerSec: 70, offeredAcksPerSec: 50, offeredDeliveriesPerSec: 80 },
  persistence: { lagMax: 12, storedAllSec: 4.1 },
  watch: {
    ready: { 'sut-gateway': { firstRedSec: 1.5, greenAgainSec: 4, failing: ['redis'], unanswered: 0 }, 'sut-persistence': { firstRedSec: null, greenAgainSec: null, failing: [], unanswered: 0 } },
    alerts: [{ alert: 'ImPresenceRebuilt', labels: 'instance=127.0.0.1:28080,trigger=reconnect', pendingSec: 5, firingSec: 5.5 }],
    alertPollsFailed: 0,
  },
  clients: { reconnects: 0, resends: 3, errors: {}, unansweredIn: {} },
  validity: { valid: true, reasons: [], missingDeliveries: 0 },
  ...over,
});

describe('faultTable', () => {
  it('shows a measured fault with its books, readiness and alerts', () => {
    const [head, , line] = faultTable([row({})]).lines;
    expect(head!.split('|').length).toBe(line!.split('|').length);
    expect(line).toBe('| redis-restart | 10 | 14 (12 / 2) | 10 | 0 | 0 | 0 | 48 / 70 (50 / 80) | 0.5 s / 1.2 s | 12, 4.1 s | gateway 1.5→4 | ImPresenceRebuilt{:28080,trigger=reconnect} 5→5.5 |');
  });

  it('says instant for a fault with no length (a kill)', () => {
    expect(faultTable([row({ fault: 'gateway-kill', duringFault: null })]).lines[2]).toContain('| 0 | instant | 0.5 s / 1.2 s |');
  });

  it("counts a broker fault's recovery from the broker healthy as well", () => {
    const line = faultTable([row({ fault: 'broker-stop', recovery: { ackSec: 5.1, deliverySec: 5.5 }, broker: { healthySec: 1.8, fromHealthy: { ackSec: 3.3, deliverySec: 3.7 } } })]).lines[2]!;
    expect(line).toContain('| 5.1 s / 5.5 s; broker healthy +1.8 s, from then 3.3 s / 3.7 s |');
  });

  it('shows an INVALID fault with its reasons and no figures', () => {
    const line = faultTable([row({ validity: { valid: false, reasons: ['3 of 10 sends got neither an ack nor an error before the step ended'], missingDeliveries: 0 } })]).lines[2]!;
    expect(line).toContain('INVALID: 3 of 10 sends got neither an ack nor an error');
    expect(line).not.toContain('14 (12 / 2)');
  });
});
