import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type GatewayHarness } from '../../edge/gateway/testing.js';
import { mediaBlobRoutes } from '../../edge/http/media-blob-routes.js';
import { eventually } from '../../streams/testing.js';
import { createLocalObjectStore, type LocalObjectStore } from './object-store-local.js';
import { createS3ObjectStore } from './object-store-s3.js';
import { contentDisposition, type ObjectStore, type PresignedRequest } from './object-store.js';

/**
 * One contract, two stores: S3 against the stack's SeaweedFS (`make up`; IM_S3_ENDPOINT_TEST and
 * the stack's identity), the local directory behind its blob routes on a real gateway. Clients
 * are played with fetch on the presigned URLs, as a phone would.
 */
interface StoreHarness {
  store: ObjectStore;
  close(): Promise<void>;
}

async function openS3(): Promise<StoreHarness> {
  const store = createS3ObjectStore({
    endpoint: process.env.IM_S3_ENDPOINT_TEST ?? 'http://127.0.0.1:8333',
    region: process.env.IM_S3_REGION ?? 'us-east-1',
    bucket: process.env.IM_S3_BUCKET ?? 'im-media',
    accessKeyId: process.env.IM_S3_ACCESS_KEY_ID ?? 'im-platform',
    secretAccessKey: process.env.IM_S3_SECRET_ACCESS_KEY ?? 'im-platform-dev-secret',
  });
  // Loudly, before any test: the stack's store answers and knows the bucket and the identity.
  await store.head(`contract/${randomUUID()}`);
  return { store, close: () => store.close() };
}

async function openLocal(): Promise<StoreHarness & { dir: string; local: LocalObjectStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'im-object-store-'));
  let gateway: GatewayHarness | null = null;
  const local = createLocalObjectStore({ dir, baseUrl: () => `http://127.0.0.1:${gateway?.port ?? 0}`, signingKey: null });
  gateway = await startTestGateway({ routes: mediaBlobRoutes(local) });
  const running = gateway;
  return {
    store: local,
    local,
    dir,
    close: async () => {
      await running.close();
      await local.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What a client does with a presigned request: its method, its headers, and the body. */
async function send(req: PresignedRequest, body?: Buffer, headers: Record<string, string> = req.headers): Promise<Response> {
  return fetch(req.url, { method: req.method, headers, body });
}

/** The presigned headers with another Content-Type, and no Content-Length (fetch sets the body's own). */
function otherHeaders(req: PresignedRequest, contentType = req.headers['content-type'] ?? ''): Record<string, string> {
  const { 'content-length': _length, ...rest } = req.headers;
  return { ...rest, 'content-type': contentType };
}

async function listed(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  return keys;
}

const harnesses: [string, () => Promise<StoreHarness>][] = [
  ['s3 (the stack\'s SeaweedFS)', openS3],
  ['local (a directory behind the gateway\'s blob routes)', openLocal],
];

describe.each(harnesses)('object store contract: %s', (_name, open) => {
  let h: StoreHarness;
  // Keys unique per attempt: the bucket outlives the run.
  const run = randomUUID();
  const key = (name: string): string => `contract/${run}/${name}`;

  beforeAll(async () => {
    h = await open();
  });
  afterAll(async () => {
    for await (const o of h.store.list(`contract/${run}/`)) await h.store.delete(o.key);
    await h.close();
  });

  it('takes a presigned PUT of the signed size and type, then heads and reads it', async () => {
    const k = key('upload');
    const bytes = randomBytes(1000);
    const up = await h.store.presignUpload(k, { size: bytes.length, contentType: 'image/png', expiresInSec: 60 });
    expect(up.method).toBe('PUT');
    const res = await send(up, bytes);
    expect(res.status).toBe(200);
    const info = await h.store.head(k);
    expect(info).toMatchObject({ size: 1000, contentType: 'image/png' });
    expect(Math.abs(info!.lastModified - Date.now())).toBeLessThan(60_000);
    expect(await h.store.readStart(k, 16)).toEqual(bytes.subarray(0, 16));
    expect(await h.store.readStart(k, 5000)).toEqual(bytes);
    expect(await h.store.readStart(k, 0)).toEqual(Buffer.alloc(0));
    expect(await h.store.read(k, 1000)).toEqual(bytes);
  });

  it('refuses a presigned PUT of another size or another type, and keeps nothing', async () => {
    const k = key('mismatch');
    const up = await h.store.presignUpload(k, { size: 10, contentType: 'image/jpeg', expiresInSec: 60 });
    const longer = await send(up, randomBytes(11), otherHeaders(up));
    expect(longer.status).toBeGreaterThanOrEqual(400);
    expect(longer.status).toBeLessThan(500);
    const retyped = await send(up, randomBytes(10), otherHeaders(up, 'text/html'));
    expect(retyped.status).toBeGreaterThanOrEqual(400);
    expect(retyped.status).toBeLessThan(500);
    expect(await h.store.head(k)).toBeNull();
    expect(await listed(h.store, k)).toEqual([]);
  });

  it('refuses a presigned URL once it has expired', async () => {
    const k = key('expired');
    await h.store.put(k, Buffer.from('kept'), 'text/plain');
    const up = await h.store.presignUpload(k, { size: 4, contentType: 'text/plain', expiresInSec: 1 });
    const down = await h.store.presignDownload(k, { expiresInSec: 1 });
    await eventually(() => Date.now() > Math.max(up.expiresAt, down.expiresAt), 'the URLs to expire', 5_000);
    const put = await send(up, Buffer.from('lost'));
    expect(put.status).toBe(403);
    expect((await send(down)).status).toBe(403);
    expect(await h.store.read(k, 100)).toEqual(Buffer.from('kept'));
  });

  it('serves a presigned GET with the bytes, the type and the Content-Disposition of the file name', async () => {
    const k = key('download');
    const bytes = randomBytes(300);
    await h.store.put(k, bytes, 'application/pdf');
    const filename = 'Rapport d\'été "final".pdf';
    const down = await h.store.presignDownload(k, { expiresInSec: 60, filename });
    const res = await send(down);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(contentDisposition(filename));
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    const typed = await send(await h.store.presignDownload(k, { expiresInSec: 60, contentType: 'application/octet-stream' }));
    expect(typed.headers.get('content-type')).toBe('application/octet-stream');
  });

  it('deletes idempotently', async () => {
    const k = key('deleted');
    await h.store.put(k, Buffer.from('x'), 'text/plain');
    await h.store.delete(k);
    expect(await h.store.head(k)).toBeNull();
    await h.store.delete(k);
    await h.store.delete(key('never-written'));
    expect(await h.store.read(k, 10)).toBeNull();
    expect(await h.store.readStart(k, 10)).toBeNull();
  });

  it('lists by prefix, in key order', async () => {
    const keys = ['list/b', 'list/a', 'list/c/d', 'listing/e', 'other/f'].map(key);
    for (const k of keys) await h.store.put(k, Buffer.from(k), 'text/plain');
    expect(await listed(h.store, key('list/'))).toEqual(['list/a', 'list/b', 'list/c/d'].map(key));
    expect(await listed(h.store, key('list'))).toEqual(['list/a', 'list/b', 'list/c/d', 'listing/e'].map(key));
    expect(await listed(h.store, key('list/c'))).toEqual([key('list/c/d')]);
    expect(await listed(h.store, key('nothing/'))).toEqual([]);
    // A prefix of other keys is no object.
    expect(await h.store.head(key('list/c'))).toBeNull();
    expect(await h.store.read(key('list/c'), 100)).toBeNull();
    expect(await h.store.readStart(key('list/c'), 100)).toBeNull();
    const [first] = await (async () => {
      const out = [];
      for await (const o of h.store.list(key('list/a'))) out.push(o);
      return out;
    })();
    expect(first).toMatchObject({ key: key('list/a'), size: Buffer.byteLength(key('list/a')) });
  });

  it('refuses to read an object larger than asked for', async () => {
    const k = key('large');
    await h.store.put(k, randomBytes(2048), 'application/octet-stream');
    await expect(h.store.read(k, 2047)).rejects.toMatchObject({ code: 'OBJECT_TOO_LARGE' });
    expect((await h.store.read(k, 2048))?.length).toBe(2048);
  });
});

describe('local object store', () => {
  let h: Awaited<ReturnType<typeof openLocal>>;
  beforeAll(async () => {
    h = await openLocal();
  });
  afterAll(async () => h.close());

  it('refuses keys that could leave its directory or confuse the file system', async () => {
    for (const bad of ['../escape', 'a/../../escape', 'a/./b', '/absolute', 'a//b', 'trailing/', 'nul\u0000byte', 'line\nbreak', 'del\u007f', 'back\\slash', '', 'x'.repeat(1025)]) {
      await expect(h.local.put(bad, Buffer.from('x'), 'text/plain'), bad).rejects.toMatchObject({ code: 'OBJECT_KEY_INVALID' });
      await expect(h.local.presignUpload(bad, { size: 1, contentType: 'text/plain', expiresInSec: 60 }), bad).rejects.toMatchObject({ code: 'OBJECT_KEY_INVALID' });
      await expect(h.local.head(bad), bad).rejects.toMatchObject({ code: 'OBJECT_KEY_INVALID' });
    }
    await expect(listed(h.local, '../')).rejects.toMatchObject({ code: 'OBJECT_KEY_INVALID' });
    // Nothing was written anywhere, in the directory or beside it.
    expect(await readdir(h.dir)).toEqual([]);
  });

  it('refuses a token that was altered, or one signed for the other method', async () => {
    const k = `tokens/${randomUUID()}`;
    const up = await h.local.presignUpload(k, { size: 2, contentType: 'text/plain', expiresInSec: 60 });
    const [base, token] = [up.url.slice(0, up.url.lastIndexOf('/') + 1), up.url.slice(up.url.lastIndexOf('/') + 1)];
    const [payload, signature] = token.split('.') as [string, string];
    const forged = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    forged.s = 3;
    const altered = `${base}${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`;
    expect((await fetch(altered, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'abc' })).status).toBe(403);
    expect((await fetch(up.url, { method: 'GET' })).status).toBe(403);
    expect(await h.local.head(k)).toBeNull();
    expect((await send(up, Buffer.from('ok'))).status).toBe(200);
    expect(await h.local.read(k, 10)).toEqual(Buffer.from('ok'));
  });

  it('does not share its URLs with a store signing with another key', async () => {
    const other = createLocalObjectStore({ dir: h.dir, baseUrl: 'http://127.0.0.1:1', signingKey: 'k'.repeat(32) });
    const up = await other.presignUpload(`tokens/${randomUUID()}`, { size: 1, contentType: 'text/plain', expiresInSec: 60 });
    await expect(h.local.redeemUpload(up.url.slice(up.url.lastIndexOf('/') + 1), Buffer.from('x'), 'text/plain')).rejects.toMatchObject({ code: 'GRANT_INVALID' });
  });
});
