import type { ScenarioOutput } from './context.js';
import type { BaselineStep } from './scenarios/baseline.js';
import type { ConnectionFigures } from './scenarios/connections.js';
import type { RateStep } from './scenarios/direct.js';
import type { FanoutFigures } from './scenarios/fanout.js';

const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;

function conn(f: ConnectionFigures): string {
  return `${f.target}: ${f.openAfterHold}/${f.requested} open after ${f.holdSec} s hold, ${f.connect.ratePerSec} conn/s (handshake p99 ${f.connect.handshake.p99} ms), RSS ${kib(f.rss.perConnectionBytes)}/conn (${(f.rss.loadedBytes / 2 ** 20).toFixed(0)} MiB total), kernel TCP mem ${kib(f.sockstat.tcpMemBytesPerConnection)}/conn (both ends), heartbeat failures ${f.heartbeats.failures}, unexpected closes ${JSON.stringify(f.unexpectedCloses)}`;
}

function fan(f: FanoutFigures): string {
  return `${f.target} ${f.members} members: last member p50 ${f.latency.timeToLastMember.p50} ms, max ${f.latency.timeToLastMember.max} ms (${f.latency.complete}/${f.latency.messages} complete); burst ${f.throughput.deliveries}/${f.throughput.expected} deliveries, ${f.throughput.deliveriesPerSec}/s`;
}

/** The plain-text summary printed at the end, put in the HTML and in bench/results/latest.md. */
export function summarize(outputs: readonly ScenarioOutput[]): string {
  const lines: string[] = [];
  for (const o of outputs) {
    const f = o.figures;
    lines.push(`## ${o.scenario}`);
    if (f.failed) {
      for (const n of o.notes) lines.push(`- ${n}`);
      continue;
    }
    switch (o.scenario) {
      case 'connections':
        lines.push(`- ${conn(f.im as ConnectionFigures)}`);
        break;
      case 'direct':
        for (const s of f.steps as RateStep[])
          lines.push(`- ${s.rate}/s: ${s.delivered}/${s.sent} delivered; send-to-ack p50 ${s.sendToAck.p50} p99 ${s.sendToAck.p99} ms; send-to-delivery p50 ${s.sendToDelivery.p50} p99 ${s.sendToDelivery.p99} p99.9 ${s.sendToDelivery.p999} ms; ${s.passes ? 'pass' : 'FAIL'}; ${s.saturation.reason}${Object.keys(s.errors).length ? `; errors ${JSON.stringify(s.errors)}` : ''}`);
        break;
      case 'fanout':
        for (const x of f.im as FanoutFigures[]) lines.push(`- ${fan(x)}`);
        break;
      case 'persist': {
        const d = f.drain as { backlog: number; written: number; seconds: number; docsPerSec: number };
        const u = f.underLoad as { rate: number; lagMax: number | null; lagAfterDrain: number };
        lines.push(`- drained ${d.written}/${d.backlog} stamped messages into MongoDB in ${d.seconds} s (${d.docsPerSec} docs/s, incl. process start)`);
        lines.push(`- under ${u.rate} msg/s of 1:1 load: writer lag max ${u.lagMax ?? 'n/a'} records, ${u.lagAfterDrain} after`);
        break;
      }
      case 'baseline':
        for (const s of f.steps as BaselineStep[]) lines.push(`- bare Kafka ${s.rate}/s: send-to-ack p50 ${s.sendToAck.p50} ms; send-to-delivery p50 ${s.sendToDelivery.p50} p99 ${s.sendToDelivery.p99} ms (${s.delivered}/${s.sent})`);
        for (const r of (f.ratios as { rate: number; p50: number; p99: number }[] | null) ?? []) lines.push(`- pipeline/baseline at ${r.rate}/s: p50 ×${r.p50}, p99 ×${r.p99}`);
        break;
      case 'peer': {
        const c = f.centrifugo as { connections: ConnectionFigures; fanout: FanoutFigures[] };
        lines.push(`- ${conn(c.connections)}`);
        for (const x of c.fanout) lines.push(`- ${fan(x)}`);
        lines.push(`- ratios IM/Centrifugo: ${Object.entries(f.ratios as Record<string, number | null>).map(([k, v]) => `${k} ×${v ?? 'n/a'}`).join(', ')}`);
        break;
      }
    }
    for (const n of o.notes) lines.push(`- note: ${n}`);
  }
  return lines.join('\n');
}
