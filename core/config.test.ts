import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';

describe('config', () => {
  it('works with no environment at all (development defaults)', () => {
    const c = loadConfig({});
    expect(c.engine).toBe('memory');
    expect(c.edge.maxFrameBytes).toBe(10 * 1024);
    expect(c.edge.heartbeatIntervalMs).toBe(30_000);
    expect(c.edge.userRatePerSec).toBe(100);
  });

  it('chooses the Kafka client library with IM_KAFKA_CLIENT (platformatic unless set) and refuses unknown ones', () => {
    expect(loadConfig({}).kafka.client).toBe('platformatic');
    expect(loadConfig({ IM_KAFKA_CLIENT: 'confluent' }).kafka.client).toBe('confluent');
    expect(loadConfig({ IM_KAFKA_CLIENT: 'kafkajs' }).kafka.client).toBe('kafkajs');
    expect(() => loadConfig({ IM_KAFKA_CLIENT: 'rdkafka' })).toThrow(/IM_KAFKA_CLIENT/);
  });

  it('answers a fetch at its first record unless the process is told to gather (IM_KAFKA_FETCH_MIN_BYTES)', () => {
    expect(loadConfig({}).kafka.fetch).toEqual({ minBytes: 1, maxWaitMs: 500 });
    expect(loadConfig({ IM_KAFKA_FETCH_MIN_BYTES: '65536', IM_KAFKA_FETCH_MAX_WAIT_MS: '250' }).kafka.fetch).toEqual({ minBytes: 65_536, maxWaitMs: 250 });
    expect(() => loadConfig({ IM_KAFKA_FETCH_MIN_BYTES: '0' })).toThrow(/IM_KAFKA_FETCH_MIN_BYTES/);
  });

  it('runs one gateway worker per core on Kafka, one on the embedded engine unless set, and refuses a bad count', () => {
    expect(loadConfig({ IM_ENGINE: 'kafka' }).edge.workers).toBe(availableParallelism());
    expect(loadConfig({}).edge.workers).toBe(1);
    expect(loadConfig({ IM_GATEWAY_WORKERS: '3' }).edge.workers).toBe(3);
    expect(() => loadConfig({ IM_GATEWAY_WORKERS: '0' })).toThrow(/IM_GATEWAY_WORKERS=0 must be an integer in \[1, 1024\]/);
  });

  it('fixes the heap growing factor at 50% unless set, leaves it to V8 at 0, and refuses a negative one', () => {
    expect(loadConfig({}).heapGrowingPercent).toBe(50);
    expect(loadConfig({ IM_HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    expect(() => loadConfig({ IM_HEAP_GROWING_PERCENT: '-1' })).toThrow(/IM_HEAP_GROWING_PERCENT=-1 must be an integer in \[0, 1000\]/);
  });

  it('takes per-kind media types and sizes, and refuses a type the server cannot recognise by its first bytes', () => {
    const c = loadConfig({ IM_MEDIA_IMAGE_TYPES: 'image/png, image/jpeg', IM_MEDIA_VIDEO_MAX_BYTES: '1000' });
    expect(c.media.limits.image.types).toEqual(['image/png', 'image/jpeg']);
    expect(c.media.limits.video.maxBytes).toBe(1000);
    expect(c.media.limits.file.types).toContain('application/pdf');
    expect(c.media.uploads.downloadUrlTtlSec).toBe(300);
    expect(c.media.lifecycle).toEqual({ recallGraceSec: 3600, pendingTimeoutSec: 86_400, retentionDays: 0, janitorIntervalSec: 60 });
    expect(() => loadConfig({ IM_MEDIA_FILE_TYPES: 'application/pdf,image/bmp' })).toThrow(/IM_MEDIA_FILE_TYPES: image\/bmp/);
  });

  it('reports every invalid value at once', () => {
    try {
      loadConfig({ IM_EDGE_PORT: 'eighty', IM_ENGINE: 'postgres', IM_HEARTBEAT_TIMEOUT_MS: '10', IM_HEARTBEAT_INTERVAL_MS: '20' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('IM_EDGE_PORT');
      expect(msg).toContain('IM_ENGINE');
      expect(msg).toContain('IM_HEARTBEAT_TIMEOUT_MS');
    }
  });

  it('refuses development defaults in production mode', () => {
    expect(() => loadConfig({ IM_MODE: 'production', IM_ENGINE: 'kafka' })).toThrow(/IM_AUTH_PRIVATE_KEY_PEM|IM_AUTH_ISSUER/);
  });
});
