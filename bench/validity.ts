/**
 * Whether a step measured what it claims to. A step whose sockets were not all open, or whose
 * sends are not all accounted for, says nothing about the system under test (another process
 * on the port, a dead generator, lost frames): it is reported as INVALID with the reasons and
 * never as a figure, a pass or a fail.
 */
export interface StepCounts {
  /** Sockets the step needs (every client it asked for) and those open when it ended. */
  connections: { requested: number; open: number; closes?: Record<string, number> };
  sent: number;
  acked: number;
  /** Error frames that answered one of the step's sends, by code. */
  sendErrors: Record<string, number>;
  /** Sends with neither an ack nor an error frame when the step was collected. */
  unanswered: number;
  delivered: number;
  /** Deliveries the acknowledged sends should produce (1:1: one each); null when not checked. */
  expectedDeliveries: number | null;
}

export interface Validity {
  valid: boolean;
  reasons: string[];
  /** Acknowledged sends whose deliveries did not arrive before the step ended (a measured loss or lateness, not a bookkeeping gap). */
  missingDeliveries: number | null;
}

/** Error codes the load generator records itself for sends it could not make. */
export const CLIENT_SIDE_CODES = ['NOT_OPEN', 'NOT_CONNECTED'] as const;

const total = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

export function stepValidity(c: StepCounts): Validity {
  const reasons: string[] = [];
  if (c.connections.open < c.connections.requested) {
    const closes = Object.entries(c.connections.closes ?? {}).map(([code, n]) => `${n}× ${code}`).join(', ');
    reasons.push(`only ${c.connections.open} of ${c.connections.requested} sockets open${closes ? ` (closed with ${closes})` : ''}`);
  }
  const clientSide = CLIENT_SIDE_CODES.reduce((a, k) => a + (c.sendErrors[k] ?? 0), 0);
  if (clientSide > 0) reasons.push(`${clientSide} sends on sockets that were not open`);
  const errors = total(c.sendErrors);
  if (c.unanswered > 0) reasons.push(`${c.unanswered} of ${c.sent} sends got neither an ack nor an error before the step ended`);
  if (c.sent !== c.acked + errors + c.unanswered) reasons.push(`sent ${c.sent} != acked ${c.acked} + errors ${errors} + unanswered ${c.unanswered}`);
  if (c.sent === 0) reasons.push('nothing was sent');
  if (c.expectedDeliveries !== null && c.delivered > c.expectedDeliveries) reasons.push(`${c.delivered} deliveries for ${c.expectedDeliveries} expected (duplicates or another step's messages)`);
  return {
    valid: reasons.length === 0,
    reasons,
    missingDeliveries: c.expectedDeliveries === null ? null : Math.max(0, c.expectedDeliveries - c.delivered),
  };
}

type Counts = Omit<StepCounts, 'connections' | 'expectedDeliveries'>;

/**
 * Adds the accounting of two collects. `b` kept the sends `a` left outstanding (a burst collected
 * while it drains): its unanswered count replaces a's. Otherwise the two are separate phases and
 * their unanswered sends add up.
 */
export function addCounts(a: Counts, b: Counts, bKeptPending: boolean): Counts {
  const sendErrors = { ...a.sendErrors };
  for (const [k, v] of Object.entries(b.sendErrors)) sendErrors[k] = (sendErrors[k] ?? 0) + v;
  return {
    sent: a.sent + b.sent,
    acked: a.acked + b.acked,
    sendErrors,
    unanswered: bKeptPending ? b.unanswered : a.unanswered + b.unanswered,
    delivered: a.delivered + b.delivered,
  };
}

/** "INVALID (reasons)" for summaries and logs, or null for a valid step. */
export function invalidLabel(v: Validity | undefined): string | null {
  return v && !v.valid ? `INVALID (${v.reasons.join('; ')})` : null;
}

/** One measurement a derived figure (a ratio, a verdict, a slope) is computed from. */
export interface DerivedInput {
  /** Which side or step, as the reader knows it ("IM", "Centrifugo", "direct 1000/s"). */
  name: string;
  validity: Validity | undefined;
}

/**
 * Why a figure derived from measurements is none itself: every INVALID input named with its
 * reasons, as "INVALID (IM: reasons; Centrifugo: reasons)"; null when every input measured what
 * it claims. A ratio or a verdict over an INVALID step would report what was not measured.
 */
export function derivedInvalid(inputs: readonly DerivedInput[]): string | null {
  const bad = inputs.filter((i) => i.validity && !i.validity.valid);
  return bad.length ? `INVALID (${bad.map((i) => `${i.name}: ${i.validity!.reasons.join(', ')}`).join('; ')})` : null;
}

/** Every invalid step in a scenario's figures, as "path: reasons", for the report's banner. */
export function invalidSteps(figures: unknown, path = ''): string[] {
  if (!figures || typeof figures !== 'object') return [];
  if (Array.isArray(figures)) return figures.flatMap((f, i) => invalidSteps(f, `${path}[${stepName(f, i)}]`));
  const o = figures as Record<string, unknown>;
  const v = o.validity as Validity | undefined;
  const own = v && typeof v === 'object' && v.valid === false ? [`${path || 'step'}: ${v.reasons.join('; ')}`] : [];
  return [...own, ...Object.entries(o).filter(([k]) => k !== 'validity').flatMap(([k, x]) => invalidSteps(x, path ? `${path}.${k}` : k))];
}

function stepName(f: unknown, i: number): string {
  const o = f as Record<string, unknown> | null;
  if (o && typeof o === 'object') {
    if (typeof o.rate === 'number') return `${o.rate}/s`;
    if (typeof o.members === 'number') return `${String(o.target ?? '')} ${o.members} members`.trim();
  }
  return String(i);
}

/** A connections step: every requested socket opened and still open after the hold. */
export function connectionValidity(requested: number, opened: number, openAfterHold: number, failures: Record<string, number>): Validity {
  const reasons: string[] = [];
  if (opened < requested) reasons.push(`only ${opened} of ${requested} sockets opened (${Object.entries(failures).map(([k, v]) => `${k} ${v}`).join(', ') || 'no reason given'})`);
  if (openAfterHold < opened) reasons.push(`${opened - openAfterHold} of ${opened} sockets closed during the hold`);
  return { valid: reasons.length === 0, reasons, missingDeliveries: null };
}
