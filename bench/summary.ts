import type { ScenarioOutput } from './context.js';
import type { BaselineFigures } from './scenarios/baseline.js';
import { describeMemory, type ConnectionFigures } from './scenarios/connections.js';
import type { RateStep } from './scenarios/direct.js';
import type { FanoutFigures } from './scenarios/fanout.js';
import { describeMedia, type MediaFigures } from './scenarios/media.js';
import { soakSummary, type SoakFigures } from './scenarios/soak.js';
import type { FaultFigures } from './scenarios/faults.js';
import { invalidLabel } from './validity.js';

const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;

/** An invalid step's label goes first: its figures are no measurement. */
const flag = (v: Parameters<typeof invalidLabel>[0]): string => {
  const label = invalidLabel(v);
  return label ? `${label}: ` : '';
};

function conn(f: ConnectionFigures): string {
  return `${flag(f.validity)}${f.target}: ${f.openAfterHold}/${f.requested} open after ${f.holdSec} s hold, ${f.connect.ratePerSec} conn/s (handshake p99 ${f.connect.handshake.p99} ms), ${f.memory ? describeMemory(f.memory) : `RSS ${kib(f.rss.perConnectionBytes)}/conn`} (${(f.rss.loadedBytes / 2 ** 20).toFixed(0)} MiB total), heartbeats missed ${f.heartbeats.failures}, unexpected closes ${JSON.stringify(f.unexpectedCloses)}`;
}

function fan(f: FanoutFigures): string {
  return `${flag(f.validity)}${f.target} ${f.members} members: last member p50 ${f.latency.timeToLastMember.p50} ms, max ${f.latency.timeToLastMember.max} ms (${f.latency.complete}/${f.latency.messages} complete); burst ${f.throughput.deliveries}/${f.throughput.expected} deliveries, ${f.throughput.deliveriesPerSec}/s`;
}

/** The peer's ratios for the summary: ×ratio, or INVALID with the side and why where there is none. */
export function peerRatiosLine(ratios: Readonly<Record<string, number | null>>, invalid: Readonly<Record<string, string>> = {}): string {
  return `ratios IM/Centrifugo: ${Object.entries(ratios).map(([k, v]) => `${k} ${invalid[k] ?? `×${v ?? 'n/a'}`}`).join(', ')}`;
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
          lines.push(
            invalidLabel(s.validity)
              ? `- ${s.rate}/s: ${invalidLabel(s.validity)}; sent ${s.sent}, acked ${s.acked}, errors ${JSON.stringify(s.sendErrors ?? s.errors)}, delivered ${s.delivered}`
              : `- ${s.rate}/s: ${s.delivered}/${s.sent} delivered; send-to-ack p50 ${s.sendToAck.p50} p99 ${s.sendToAck.p99} ms; send-to-delivery p50 ${s.sendToDelivery.p50} p99 ${s.sendToDelivery.p99} p99.9 ${s.sendToDelivery.p999} ms; ${s.passes ? 'pass' : 'FAIL'}; ${s.saturation.reason}${Object.keys(s.errors).length ? `; errors ${JSON.stringify(s.errors)}` : ''}`,
          );
        break;
      case 'fanout':
        for (const x of f.im as FanoutFigures[]) lines.push(`- ${fan(x)}`);
        break;
      case 'media': {
        const m = f.im as MediaFigures;
        const c = m.counts;
        // An INVALID step's reasons replace its figures; its accounting stays, as direct's does.
        lines.push(`- ${invalidLabel(m.validity) ? `${invalidLabel(m.validity)}; slots ${c.slotsAsked}, uploaded ${c.uploaded}, sent ${c.sent}, acked ${c.acked}, MEDIA_READY ${c.ready}` : describeMedia(m)}`);
        break;
      }
      case 'persist': {
        const d = f.drain as { backlog: number; written: number; seconds: number; docsPerSec: number; docsPerSecAfterFirst?: number };
        const c = f.ferretdbCeiling as { docsPerSec: number; messages: number; conversations: number; batch: number; updatesPerCommand: number } | undefined;
        const u = f.underLoad as { rate: number; lagMax: number | null; lagAfterDrain: number; validity?: Parameters<typeof invalidLabel>[0] | null };
        lines.push(`- drained ${d.written}/${d.backlog} stamped messages into MongoDB in ${d.seconds} s (${d.docsPerSec} docs/s incl. process start; writer ${d.docsPerSecAfterFirst ?? 'n/a'} docs/s from its first document)`);
        if (c) lines.push(`- FerretDB's ceiling for the same writes (message store from the bench, no Kafka, batches of ${c.batch}, ${c.updatesPerCommand} updates per command): ${c.docsPerSec} docs/s over ${c.conversations} conversations; writer/ceiling ×${(f.writerVsCeiling as number | null) ?? 'n/a'}`);
        lines.push(`- ${flag(u.validity ?? undefined)}under ${u.rate} msg/s of 1:1 load: writer lag max ${u.lagMax ?? 'n/a'} records, ${u.lagAfterDrain} after`);
        break;
      }
      case 'baseline': {
        const b = f as unknown as BaselineFigures;
        for (const r of b.runs) {
          if (r.status !== 'measured') lines.push(`- ${r.client}, ${r.hops} hop(s): ${r.status.toUpperCase()} (${r.reason})`);
          for (const s of r.steps) lines.push(`- ${r.client}, ${r.hops} hop(s), ${s.rate}/s: ${s.complete ? '' : 'PARTIAL '}${s.delivered}/${s.sent}; send-to-ack p50 ${s.sendToAck.p50} ms; send-to-delivery p50 ${s.sendToDelivery.p50} p99 ${s.sendToDelivery.p99} ms`);
        }
        for (const r of b.ratios ?? []) lines.push(`- pipeline/baseline (${b.platform.client}, ${b.platform.hops} hop(s)) at ${r.rate}/s: ${r.invalid ?? `p50 ×${r.p50}, p99 ×${r.p99}`}`);
        break;
      }
      case 'soak':
        lines.push(`- ${soakSummary(f as unknown as SoakFigures)}`);
        break;
      case 'faults': {
        const rows = f.faults as FaultFigures[];
        const valid = rows.filter((r) => r.validity.valid);
        lines.push(`- ${rows.length} faults, ${valid.length} measured (${rows.length - valid.length} INVALID), ${f.faultsWithLoss as number} with a loss, a duplicate or a gap`);
        break;
      }
      case 'peer': {
        const c = f.centrifugo as { connections: ConnectionFigures; fanout: FanoutFigures[] };
        lines.push(`- ${conn(c.connections)}`);
        for (const x of c.fanout) lines.push(`- ${fan(x)}`);
        lines.push(`- ${peerRatiosLine(f.ratios as Record<string, number | null>, f.ratiosInvalid as Record<string, string> | undefined)}`);
        break;
      }
    }
    for (const n of o.notes) lines.push(`- note: ${n}`);
    for (const t of o.tables ?? []) lines.push('', `### ${t.title}`, '', ...t.lines, '');
  }
  return lines.join('\n');
}
