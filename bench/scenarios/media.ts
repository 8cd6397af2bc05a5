import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import WebSocket from 'ws';
import { objectStoreFromConfig } from '../../connectors/object-store/from-config.js';
import { loadConfig } from '../../core/config.js';
import { mediaObjectKey, thumbnailObjectKey } from '../../domain/media.js';
import { intFlag } from '../args.js';
import { nowMs, sleep } from '../clock.js';
import type { BenchContext, ReportTable, ScenarioOutput } from '../context.js';
import type { LatencySummary } from '../histogram.js';
import type { ClientSpec } from '../load/messages.js';
import { CpuMeter } from '../procstat.js';
import { StepRecorder } from '../step-series.js';
import { userIds } from '../tokens.js';
import { invalidLabel, type Validity } from '../validity.js';
import { waitFor } from './common.js';
import { MediaLedger, mediaValidity, type MediaCounts, type MediaThroughput, type MediaTimings } from './media-ledger.js';
import type { Target } from './targets.js';

/**
 * Media (issue 12): pairs of users; each sender, in a closed loop for `--seconds`, asks for an
 * upload slot (POST /v1/media/uploads), PUTs a generated ~2 MB PNG to the URL it got (the SUT's
 * object store: S3 when IM_S3_ENDPOINT is set, else the platform's local store) and sends it to
 * its partner as a media message, then waits for the ack. Measured: upload throughput, slot→PUT
 * done, send→ack, send→delivery and the time to thumbnail (send → the recipient's MEDIA_READY).
 * The clients run in this process: a few dozen sockets, the bytes are the load.
 */
export interface MediaFigures {
  pairs: number;
  imageBytes: number;
  store: string;
  counts: MediaCounts;
  throughput: MediaThroughput;
  latency: MediaTimings;
  cpu: Record<string, number>;
  validity: Validity;
}

/** The frames of the protocol this scenario reads. */
interface InFrame {
  type?: string;
  msg_id?: string;
  content_type?: string;
  content?: string;
  error_code?: string;
  media?: { id?: string; thumbnail?: boolean }[];
}

const MEDIA_READY = 'system/media_ready';

/**
 * A valid PNG of about `bytes` bytes: random RGB pixels (incompressible, so the size holds),
 * stored uncompressed. Every call gives different pixels.
 */
export function generatedPng(bytes: number): Buffer {
  const side = Math.max(1, Math.floor(Math.sqrt(bytes / 3)));
  const row = side * 3 + 1;
  const raw = randomBytes(row * side);
  for (let y = 0; y < side; y++) raw[y * row] = 0; // filter type None on each row
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, truecolour, deflate, no filter method, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 0 })), chunk('IEND', Buffer.alloc(0))]);
}

/** Headers a client may not set itself (the body gives the length). */
const UNSETTABLE = new Set(['content-length', 'host', 'connection']);

/** One user's socket: acks what it receives, hands every frame to `onFrame`, ready once `connected`. */
function openClient(url: string, spec: ClientSpec, onFrame: (f: InFrame) => void): { ws: WebSocket; ready: Promise<void> } {
  const ws = new WebSocket(`${url}?token=${encodeURIComponent(spec.token)}`, { perMessageDeflate: false, maxPayload: 1 << 20 });
  const ready = new Promise<void>((resolve, reject) => {
    // Settles once: an error or a close after `connected` is counted by the scenario, not here.
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`closed ${code} before connected`)));
    ws.on('message', (data) => {
      let f: InFrame;
      try {
        f = JSON.parse(data.toString()) as InFrame;
      } catch {
        return;
      }
      if (f.type === 'connected') resolve();
      if (f.type === 'message' && f.msg_id) ws.send(JSON.stringify({ type: 'ack', msg_id: f.msg_id }));
      onFrame(f);
    });
  });
  return { ws, ready };
}

export async function mediaScenario(ctx: BenchContext, target: Target): Promise<ScenarioOutput> {
  const pairs = intFlag(ctx.flags, 'media-pairs', 4);
  const imageBytes = intFlag(ctx.flags, 'media-bytes', 2 * 1024 * 1024);
  const seconds = intFlag(ctx.flags, 'seconds', 10);
  const drainSec = intFlag(ctx.flags, 'media-drain-sec', 60);
  const s3 = ctx.sut.env.IM_S3_ENDPOINT ?? process.env.IM_S3_ENDPOINT;
  const store = s3 ? `S3 at ${s3}` : 'local directory (served by the gateway)';
  const configuration = { pairs, imageBytes, seconds, drainSec, store };
  ctx.log(`[media] ${pairs} pairs, ${(imageBytes / 1024 / 1024).toFixed(1)} MB PNGs for ${seconds} s, store: ${store}`);

  const ledger = new MediaLedger();
  const specs = await target.clients(userIds('media-', pairs * 2));
  const sockets: WebSocket[] = [];
  /** Per sender: the waiter of its outstanding send, by client msg_id. */
  const answers = new Map<string, () => void>();
  const closes: Record<string, number> = {};
  let stopping = false;
  const meter = new CpuMeter(() => ctx.sut.pids());
  try {
    const clients = specs.map((spec, i) => {
      const recipient = i % 2 === 1;
      return openClient(ctx.sut.wsUrl, spec, (f) => {
        const at = nowMs();
        if (!recipient && f.msg_id && (f.type === 'ack' || f.type === 'error')) {
          if (f.type === 'ack') ledger.acked(f.msg_id, at);
          else ledger.sendRefused(f.msg_id, f.error_code ?? 'UNKNOWN');
          answers.get(f.msg_id)?.();
          return;
        }
        if (!recipient || f.type !== 'message') return;
        // A MEDIA_READY event carries the measured entries as its own `media`.
        if (f.content_type === MEDIA_READY) {
          for (const x of f.media ?? []) if (x.id) ledger.ready(x.id, at, x.thumbnail === true);
        } else if (f.media?.[0]?.id) ledger.delivered(f.media[0].id, at);
      });
    });
    for (const c of clients) {
      sockets.push(c.ws);
      c.ws.on('close', (code) => {
        if (!stopping) closes[String(code)] = (closes[String(code)] ?? 0) + 1;
      });
    }
    await Promise.all(clients.map((c) => c.ready));
    const heartbeat = setInterval(() => sockets.forEach((ws) => ws.readyState === WebSocket.OPEN && ws.send('{"type":"heartbeat"}')), 15_000);

    meter.begin();
    const until = Date.now() + seconds * 1000;
    const images = Array.from({ length: pairs }, () => generatedPng(imageBytes));
    /** Every object this run may have put in the store, deleted once measured. */
    const uploads: { owner: string; mediaId: string }[] = [];
    const sender = async (p: number): Promise<void> => {
      const spec = specs[2 * p]!;
      const to = specs[2 * p + 1]!.userId;
      const ws = sockets[2 * p]!;
      const png = images[p]!;
      for (let n = 0; Date.now() < until; n++) {
        const key = `media-${spec.userId}-${n}`;
        const item = { kind: 'image', mime: 'image/png', size: png.length, name: `bench-${n}.png` };
        ledger.slotAsked(key, png.length, nowMs());
        const res = await fetch(`${ctx.sut.httpUrl}/v1/media/uploads`, { method: 'POST', headers: { authorization: `Bearer ${spec.token}`, 'content-type': 'application/json' }, body: JSON.stringify(item) }).catch(() => null);
        const slot = (await res?.json().catch(() => null)) as { media_id?: string; error_code?: string; upload?: { url: string; method?: string; headers?: Record<string, string> } } | null;
        if (!res || res.status !== 201 || !slot?.media_id || !slot.upload) {
          ledger.slotRefused(key, slot?.error_code ?? (res ? `HTTP_${res.status}` : 'NETWORK'));
          await sleep(100); // a refusal (a rate limit) is not retried at once
          continue;
        }
        ledger.slotGranted(key, slot.media_id);
        uploads.push({ owner: spec.userId, mediaId: slot.media_id });
        const headers = Object.fromEntries(Object.entries(slot.upload.headers ?? {}).filter(([k]) => !UNSETTABLE.has(k.toLowerCase())));
        const put = await fetch(slot.upload.url, { method: slot.upload.method ?? 'PUT', headers, body: png }).catch(() => null);
        await put?.arrayBuffer().catch(() => null);
        if (!put?.ok) {
          ledger.putFailed(key, put ? `HTTP_${put.status}` : 'NETWORK');
          continue;
        }
        ledger.putDone(key, nowMs());
        const answered = new Promise<void>((resolve) => answers.set(key, resolve));
        ledger.sent(key, nowMs());
        ws.send(JSON.stringify({ type: 'send_msg', msg_id: key, recipient: to, recipient_type: 'user', content: '', content_type: 'image', media: [{ id: slot.media_id, ...item }], timestamp: Date.now() }));
        // Closed loop: the next upload after this one's answer (or 30 s: then it counts as unanswered).
        await Promise.race([answered, sleep(30_000)]);
        answers.delete(key);
      }
    };
    await Promise.all(Array.from({ length: pairs }, (_, p) => sender(p)));
    ctx.log(`[media] load done; waiting up to ${drainSec} s for the last MEDIA_READY events`);
    await waitFor(() => ledger.settled(), drainSec * 1000);
    clearInterval(heartbeat);
    const cpu = meter.end();

    const counts = ledger.counts();
    const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
    await deleteUploads(ctx, uploads);
    const validity = mediaValidity(counts, { requested: sockets.length, open, closes });
    const figures: MediaFigures = { pairs, imageBytes, store, counts, throughput: ledger.throughput(), latency: ledger.timings(), cpu, validity };
    const label = `${pairs} pairs, ${(imageBytes / 1024 / 1024).toFixed(1)} MB images`;
    const steps = [new StepRecorder().add(ledger.phase()).series(label, validity, cpu, [])];
    const bad = invalidLabel(validity);
    ctx.log(`[media] ${bad ?? describeMedia(figures)}`);
    return {
      scenario: 'media',
      configuration,
      figures: { im: figures },
      latencyCurves: [],
      steps,
      tables: [mediaTable(figures)],
      notes: bad ? [`${label}: ${bad}`] : [],
    };
  } finally {
    stopping = true;
    for (const ws of sockets) ws.terminate();
  }
}

const ms = (l: LatencySummary): string => `${l.count} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max}`;

/** The summary line (latest.md, the log): throughput, the latencies' p50/p99, the accounting. */
export function describeMedia(f: MediaFigures): string {
  const c = f.counts;
  const errors = { ...c.slotErrors, ...c.uploadErrors, ...c.sendErrors };
  return `${f.pairs} pairs, ${c.uploaded} uploads of ${(f.imageBytes / 1024 / 1024).toFixed(1)} MB (${f.store}): ${f.throughput.megabytesPerSec} MB/s, ${f.throughput.uploadsPerSec} uploads/s; slot→PUT done p50 ${f.latency.slotToPutDone.p50} p99 ${f.latency.slotToPutDone.p99} ms; send→ack p50 ${f.latency.sendToAck.p50} p99 ${f.latency.sendToAck.p99} ms; time to thumbnail (send→MEDIA_READY at the recipient) p50 ${f.latency.sendToReady.p50} p99 ${f.latency.sendToReady.p99} ms; acked ${c.acked}, MEDIA_READY ${c.ready} (${c.readyWithThumbnail} with a thumbnail), delivered ${c.delivered}${Object.keys(errors).length ? `, errors ${JSON.stringify(errors)}` : ''}`;
}

/** The media figures as a table for latest.md and the HTML report; an INVALID step says only why. */
export function mediaTable(f: MediaFigures): ReportTable {
  const title = 'media: uploads through slots and PUT, media messages, time to thumbnail (ms)';
  if (!f.validity.valid) return { title, lines: ['| step | result |', '| --- | --- |', `| ${f.pairs} pairs | INVALID (${f.validity.reasons.join('; ')}) |`] };
  const c = f.counts;
  return {
    title,
    lines: [
      '| measure | count | p50 | p90 | p99 | max |',
      '| --- | --- | --- | --- | --- | --- |',
      `| slot → PUT done | ${ms(f.latency.slotToPutDone)} |`,
      `| send → ack | ${ms(f.latency.sendToAck)} |`,
      `| send → delivery | ${ms(f.latency.sendToDelivery)} |`,
      `| send → MEDIA_READY at the recipient (time to thumbnail) | ${ms(f.latency.sendToReady)} |`,
      '',
      `Throughput: ${f.throughput.uploads} uploads of ${f.imageBytes} bytes in ${f.throughput.seconds} s: **${f.throughput.megabytesPerSec} MB/s**, ${f.throughput.uploadsPerSec} uploads/s (store: ${f.store}). Accounting: slots ${c.slotsAsked} asked, ${c.slotsGranted} granted, refused ${JSON.stringify(c.slotErrors)}; PUTs ${c.uploaded} done, refused ${JSON.stringify(c.uploadErrors)}; sent ${c.sent} = acked ${c.acked} + errors ${JSON.stringify(c.sendErrors)}; MEDIA_READY ${c.ready} of ${c.acked} (${c.readyWithThumbnail} with a thumbnail); delivered ${c.delivered}.`,
    ],
  };
}

/**
 * Deletes the run's uploads and their thumbnails from the SUT's store: the stack's SeaweedFS
 * holds 64 MB volumes, and a few media runs' 2 MB images (kept for a day as unattached or
 * forever as attached) filled it until every PUT was refused.
 */
async function deleteUploads(ctx: BenchContext, uploads: readonly { owner: string; mediaId: string }[]): Promise<void> {
  const store = objectStoreFromConfig(loadConfig(ctx.sut.env));
  let failed = 0;
  for (const u of uploads) {
    for (const key of [mediaObjectKey(u.owner, u.mediaId), thumbnailObjectKey(u.owner, u.mediaId)]) await store.delete(key).catch(() => void failed++);
  }
  ctx.log(`[media] deleted the run's ${uploads.length} uploads and their thumbnails from the store${failed ? ` (${failed} deletions failed)` : ''}`);
}
