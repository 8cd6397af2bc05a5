import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '@platformatic/kafka';
import { loadConfig } from '../core/config.js';
import { registry } from '../core/metrics.js';
import { recordingLogger, type LogLine } from '../core/testing.js';
import { watchUnansweredRequests } from './log-platformatic-requests.js';
import { eventually } from './testing.js';

const { brokers } = loadConfig({ ...process.env, IM_ENGINE: 'kafka' }).kafka;

/** Accepts connections and reads requests but never answers: a broker stuck mid-request. */
function silentBroker(): Promise<{ server: Server; address: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.resume();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    resolve({ server, address: `127.0.0.1:${port}`, sockets });
  }));
}

describe('unanswered Kafka requests', () => {
  let silent: Awaited<ReturnType<typeof silentBroker>>;
  beforeAll(async () => {
    silent = await silentBroker();
  });
  afterAll(() => {
    for (const socket of silent.sockets) socket.destroy();
    silent.server.close();
  });
  /** A client of the silent broker: one attempt per request, given up after 5 s. */
  const silentAdmin = (clientId: string): Admin => new Admin({ clientId, bootstrapBrokers: [silent.address], retries: 0, requestTimeout: 5_000 });
  /** A watch whose sweeps run only when a test calls them, and the lines it logs. */
  const watching = (times: { overdueMs: number; forgetMs: number }): { lines: LogLine[]; watch: ReturnType<typeof watchUnansweredRequests> } => {
    const lines: LogLine[] = [];
    return { lines, watch: watchUnansweredRequests({ logger: recordingLogger(lines), ...times, sweepMs: 60_000 }) };
  };

  it('names the API and the broker of a request left unanswered, once', async () => {
    const { lines, watch } = watching({ overdueMs: 50, forgetMs: 60_000 });
    const admin = silentAdmin('im-unanswered');
    try {
      const listing = admin.listTopics().catch((err: unknown) => err);
      await eventually(() => watch.pending() > 0, 'the request sent');
      const sentAt = Date.now();
      await eventually(() => {
        watch.sweep(Date.now());
        return lines.length > 0;
      }, 'the request overdue');
      expect(lines[0]!.msg).toBe('kafka requests unanswered');
      // The first request on a connection asks which versions the broker speaks.
      expect(lines[0]!.fields?.requests).toBe(`1 × ApiVersions to ${silent.address}`);
      expect(lines[0]!.fields?.oldestMs).toBeGreaterThanOrEqual(50);
      watch.sweep(sentAt + 1_000);
      expect(lines).toHaveLength(1);
      void listing;
    } finally {
      watch.stop();
      await admin.close().catch(() => {});
    }
  });

  it('forgets a request the package gave up on', async () => {
    const { lines, watch } = watching({ overdueMs: 60_000, forgetMs: 100 });
    const admin = silentAdmin('im-unanswered-forget');
    try {
      void admin.listTopics().catch(() => {});
      await eventually(() => watch.pending() === 1, 'the request sent');
      watch.sweep(Date.now() + 100);
      expect(watch.pending()).toBe(0);
      expect(lines).toEqual([]);
    } finally {
      watch.stop();
      await admin.close().catch(() => {});
    }
  });

  it('forgets the requests of a connection that closed: they failed, they are not waiting', async () => {
    const { lines, watch } = watching({ overdueMs: 0, forgetMs: 60_000 });
    const admin = silentAdmin('im-unanswered-closed');
    const listing = admin.listTopics().catch((err: unknown) => err);
    await eventually(() => watch.pending() === 1, 'the request sent');
    for (const socket of silent.sockets.splice(0)) socket.destroy();
    expect(String(await listing)).toMatch(/failed|closed/i);
    watch.sweep();
    expect(watch.pending()).toBe(0);
    expect(lines).toEqual([]);
    watch.stop();
    await admin.close().catch(() => {});
  });

  it('counts nothing once a real broker has answered, and counts what was sent by API', async () => {
    const lines: LogLine[] = [];
    const watch = watchUnansweredRequests({ logger: recordingLogger(lines), overdueMs: 0, forgetMs: 60_000, sweepMs: 60_000 });
    const admin = new Admin({ clientId: 'im-unanswered-answered', bootstrapBrokers: brokers });
    const metadataSent = async (): Promise<number> => (await registry.getSingleMetric('im_kafka_requests_total')!.get()).values.find((v) => v.labels.api === 'Metadata')?.value ?? 0;
    try {
      const before = await metadataSent();
      await admin.listTopics();
      expect(await metadataSent()).toBeGreaterThan(before);
      expect(watch.pending()).toBe(0);
      watch.sweep();
      expect(lines).toEqual([]);
    } finally {
      watch.stop();
      await admin.close();
    }
  });
});
