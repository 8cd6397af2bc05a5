import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { intFlag } from '../args.js';
import { startCentrifugo } from '../centrifugo.js';
import type { BenchContext, ScenarioOutput } from '../context.js';
import { centrifugoToken } from '../tokens.js';
import { round } from './common.js';
import { connectionCap, measureConnections, type ConnectionFigures } from './connections.js';
import { fanoutOptions, measureFanout, type FanoutFigures } from './fanout.js';
import type { Target } from './targets.js';
import type { StepSeries } from '../step-series.js';
import { derivedInvalid, type Validity } from '../validity.js';
import { type PeerConnection, type PeerFanout, peerTable, TABLE_TITLES } from '../report/step-tables.js';

/**
 * Ratios IM / Centrifugo, oriented so that > 1 means the platform spends more (or is slower).
 * A figure whose step is INVALID on either side gets no ratio: `invalid` says which side and why.
 */
export interface PeerRatios {
  ratios: Record<string, number | null>;
  invalid: Record<string, string>;
}

type PeerSide = { conn?: PeerConnection; fanout: readonly PeerFanout[] };

export function peerRatios(im: PeerSide, peer: PeerSide): PeerRatios {
  const out: PeerRatios = { ratios: {}, invalid: {} };
  // null, not 0, when either side measured nothing (e.g. a fan-out that never completed).
  const put = (key: string, a: number | undefined, b: number | undefined, sides: [Validity | undefined, Validity | undefined]): void => {
    const why = derivedInvalid([{ name: 'IM', validity: sides[0] }, { name: 'Centrifugo', validity: sides[1] }]);
    if (why) out.invalid[key] = why;
    out.ratios[key] = !why && a !== undefined && b !== undefined && a > 0 && b > 0 ? round(a / b) : null;
  };
  const connSides: [Validity | undefined, Validity | undefined] = [im.conn?.validity, peer.conn?.validity];
  put('rssPerConnection', im.conn?.rss.perConnectionBytes, peer.conn?.rss.perConnectionBytes, connSides);
  put('connectRate', im.conn?.connect.ratePerSec, peer.conn?.connect.ratePerSec, connSides);
  put('connectP99', im.conn?.connect.handshake.p99, peer.conn?.connect.handshake.p99, connSides);
  for (const f of im.fanout) {
    const p = peer.fanout.find((x) => x.members === f.members);
    const sides: [Validity | undefined, Validity | undefined] = [f.validity, p?.validity];
    put(`fanout${f.members}.timeToLastP50`, f.latency.timeToLastMember.p50, p?.latency.timeToLastMember.p50, sides);
    put(`fanout${f.members}.timeToLastMax`, f.latency.timeToLastMember.max, p?.latency.timeToLastMember.max, sides);
    put(`fanout${f.members}.deliveriesPerSec`, f.throughput.deliveriesPerSec, p?.throughput.deliveriesPerSec, sides);
  }
  return out;
}

/**
 * Centrifugo under the same generator, for the connections and fanout scenarios. The platform's
 * side comes from this invocation's earlier scenarios, or is measured here when they did not run.
 */
export async function peerScenario(ctx: BenchContext, im: Target): Promise<ScenarioOutput> {
  const port = intFlag(ctx.flags, 'peer-port', 18000);
  const { n, note } = connectionCap(intFlag(ctx.flags, 'peer-connections', intFlag(ctx.flags, 'connections', 10_000)));
  const holdSec = intFlag(ctx.flags, 'hold-sec', 30);
  const fo = fanoutOptions(ctx);
  const c = await startCentrifugo(port, join(tmpdir(), 'im-bench-centrifugo'), ctx.log);
  const peer: Target = {
    name: 'centrifugo',
    protocol: 'centrifugo',
    url: c.wsUrl,
    serverPid: () => c.proc.pid,
    collectGarbage: null,
    heap: null,
    clients: async (ids) => ids.map((userId) => ({ userId, token: centrifugoToken(c.secret, userId) })),
    prepareGroup: async () => undefined,
    subscribeChannel: (gid) => gid,
  };
  const notes = note ? [note] : [];
  notes.push('Centrifugo config: HMAC tokens, client subscribe and publish allowed, presence and history off; the sender publishes over its own connection and every member subscribes to the channel');
  try {
    const earlierConn = (ctx.earlier.get('connections')?.figures.im as ConnectionFigures | undefined) ?? undefined;
    const imConn = earlierConn && earlierConn.requested === n ? earlierConn : await measureConnections(ctx, im, n, holdSec, 10_000);
    const peerConn = await measureConnections(ctx, peer, n, holdSec, 10_000);
    const earlierFan = ctx.earlier.get('fanout')?.figures.im as FanoutFigures[] | undefined;
    const imFan: FanoutFigures[] = [];
    const peerFan: FanoutFigures[] = [];
    const steps: StepSeries[] = [];
    for (const size of fo.sizes) {
      imFan.push(earlierFan?.find((f) => f.members === size) ?? (await measureFanout(ctx, im, size, fo, steps)));
      peerFan.push(await measureFanout(ctx, peer, size, fo, steps));
    }
    const { ratios, invalid: ratiosInvalid } = peerRatios({ conn: imConn, fanout: imFan }, { conn: peerConn, fanout: peerFan });
    ctx.log(`[peer] ratios IM/Centrifugo: ${JSON.stringify(ratios)}${Object.keys(ratiosInvalid).length ? `; no ratio: ${JSON.stringify(ratiosInvalid)}` : ''}`);
    const figures = { im: { connections: imConn, fanout: imFan }, centrifugo: { connections: peerConn, fanout: peerFan }, ratios, ratiosInvalid };
    return {
      scenario: 'peer',
      configuration: { centrifugo: c.version, port, connections: n, holdSec, fanout: fo },
      figures,
      latencyCurves: [],
      steps,
      tables: [{ title: TABLE_TITLES.peer, lines: peerTable(figures) }],
      notes,
    };
  } finally {
    await c.proc.stop();
  }
}
