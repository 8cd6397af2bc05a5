import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { PlatformError } from '../../core/errors.js';
import { contentDisposition, objectTooLarge, type ListedObject, type ObjectInfo, type ObjectStore, type PresignedRequest } from './object-store.js';

/**
 * The object store of `make run`: a directory on this machine, its presigned URLs pointing at
 * the platform's own HTTP routes (edge/http/media-blob-routes.ts), which redeem them here.
 *
 * A URL carries a grant: method, key, and for an upload the exact size and content type, with
 * an expiry, signed with HMAC-SHA256. Nothing is kept per URL, so any process holding the same
 * key and directory redeems it; without a configured key each process draws its own, and URLs
 * die with it, which is fine for one `make run` process.
 *
 * Layout: `objects/<key>` holds the bytes, `meta/<key>.json` the content type (a sidecar, so
 * a key can never name another key's metadata), `tmp/` the files being written, renamed into
 * place when complete. A key that is both an object and a prefix of deeper keys (`a` and `a/b`)
 * cannot exist here, unlike in S3; the platform's keys never do that.
 */
export interface LocalObjectStore extends ObjectStore {
  readonly kind: 'local';
  /** Stores the body of a presigned PUT; throws BlobGrantError when the grant or the body does not match. */
  redeemUpload(token: string, body: Buffer, contentType: string | undefined): Promise<void>;
  /** The object a presigned GET names, with the headers to answer with; null when it is gone. */
  redeemDownload(token: string): Promise<{ body: Buffer; contentType: string; contentDisposition: string | null } | null>;
}

export interface LocalObjectStoreOptions {
  dir: string;
  /**
   * Where the platform's HTTP API is reached by clients, e.g. `http://127.0.0.1:8080`; a function
   * when the port is known only once the server listens (tests on port 0).
   */
  baseUrl: string | (() => string);
  /** The HMAC key of grants; null draws a random one for this process. */
  signingKey: string | null;
  /** The routes' path, the token appended. */
  routePath?: string;
  now?: () => number;
}

export const BLOB_ROUTE_PATH = '/v1/media/blob';

/** Whether the blob routes must be mounted for this store (its URLs point at them). */
export function isLocalObjectStore(store: ObjectStore): store is LocalObjectStore {
  return store.kind === 'local' && 'redeemUpload' in store;
}

/** Why a presigned URL of the local store was refused; `status` is what the route answers. */
export class BlobGrantError extends PlatformError {
  constructor(readonly status: 400 | 403, code: 'GRANT_INVALID' | 'GRANT_EXPIRED' | 'BODY_MISMATCH', message: string) {
    super(code, message);
    this.name = 'BlobGrantError';
  }
}

interface Grant {
  m: 'PUT' | 'GET';
  k: string;
  /** Expiry, epoch ms. */
  e: number;
  /** PUT: exact size and content type. GET: the type to answer with, if given. */
  s?: number;
  t?: string;
  /** GET: the download's file name. */
  f?: string;
}

/** Longest key accepted, in UTF-8 bytes (S3's limit). */
const MAX_KEY_BYTES = 1024;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Refuses a key that could leave the directory or confuse the file system: empty segments,
 * `.` and `..`, backslashes, control characters, and the S3 length limit.
 */
export function assertSafeKey(key: string): void {
  const bad = (why: string): never => {
    throw new PlatformError('OBJECT_KEY_INVALID', `object key ${JSON.stringify(key)} refused: ${why}`);
  };
  if (key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES) bad(`must be 1 to ${MAX_KEY_BYTES} bytes`);
  if (CONTROL.test(key)) bad('control character');
  if (key.includes('\\')) bad('backslash');
  for (const segment of key.split('/')) if (segment === '' || segment === '.' || segment === '..') bad('empty, . or .. segment');
}

export function createLocalObjectStore(o: LocalObjectStoreOptions): LocalObjectStore {
  const root = resolve(o.dir);
  const objects = join(root, 'objects');
  const meta = join(root, 'meta');
  const tmp = join(root, 'tmp');
  const key = o.signingKey === null ? randomBytes(32) : Buffer.from(o.signingKey, 'utf8');
  const now = o.now ?? Date.now;
  const baseUrl = o.baseUrl;
  const routeBase = (): string => `${(typeof baseUrl === 'function' ? baseUrl() : baseUrl).replace(/\/+$/, '')}${o.routePath ?? BLOB_ROUTE_PATH}`;

  /** The path of `k` under `base`, checked again after resolving, belt and braces. */
  const pathOf = (base: string, k: string, suffix = ''): string => {
    assertSafeKey(k);
    const p = resolve(base, k + suffix);
    if (!p.startsWith(base + sep)) throw new PlatformError('OBJECT_KEY_INVALID', `object key ${JSON.stringify(k)} leaves the store`);
    return p;
  };

  const mac = (payload: string): Buffer => createHmac('sha256', key).update(payload).digest();
  const sign = (grant: Grant): string => {
    const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
    return `${payload}.${mac(payload).toString('base64url')}`;
  };
  const verify = (token: string, method: Grant['m']): Grant => {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) throw new BlobGrantError(403, 'GRANT_INVALID', 'malformed token');
    const given = Buffer.from(signature, 'base64url');
    const expected = mac(payload);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new BlobGrantError(403, 'GRANT_INVALID', 'bad signature');
    const grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Grant;
    if (grant.m !== method) throw new BlobGrantError(403, 'GRANT_INVALID', `the URL is for ${grant.m}`);
    if (now() >= grant.e) throw new BlobGrantError(403, 'GRANT_EXPIRED', 'the URL has expired');
    return grant;
  };
  const presigned = (grant: Grant, method: Grant['m'], headers: Record<string, string>): PresignedRequest => ({
    url: `${routeBase()}/${sign(grant)}`,
    method,
    headers,
    expiresAt: grant.e,
  });

  /** Whole files only: written under tmp/, then renamed over the target. */
  const writeAtomically = async (target: string, data: Buffer | string): Promise<void> => {
    await mkdir(tmp, { recursive: true });
    const temp = join(tmp, randomUUID());
    try {
      await writeFile(temp, data);
      await mkdir(dirname(target), { recursive: true });
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  };

  const put = async (k: string, body: Buffer, contentType: string): Promise<void> => {
    const file = pathOf(objects, k);
    // The sidecar after the bytes: a crash between the two leaves bytes that head() still
    // reports (as application/octet-stream), never metadata without bytes.
    await writeAtomically(file, body);
    await writeAtomically(pathOf(meta, k, '.json'), JSON.stringify({ contentType }));
  };

  const head = async (k: string): Promise<ObjectInfo | null> => {
    const file = pathOf(objects, k);
    const st = await stat(file).catch(missing);
    if (!st?.isFile()) return null;
    const sidecar = await readFile(pathOf(meta, k, '.json'), 'utf8').catch(missing);
    const contentType = sidecar ? (JSON.parse(sidecar) as { contentType: string }).contentType : 'application/octet-stream';
    return { size: st.size, contentType, lastModified: Math.floor(st.mtimeMs) };
  };

  /** The object's file opened for reading with its size; null when there is none (or `k` is only a prefix, a directory here). */
  const openObject = async (k: string): Promise<{ handle: FileHandle; size: number } | null> => {
    const handle = await open(pathOf(objects, k), 'r').catch(missing);
    if (!handle) return null;
    const st = await handle.stat();
    if (st.isFile()) return { handle, size: st.size };
    await handle.close();
    return null;
  };

  const read = async (k: string, maxBytes: number): Promise<Buffer | null> => {
    const opened = await openObject(k);
    if (!opened) return null;
    const { handle, size } = opened;
    try {
      if (size > maxBytes) throw objectTooLarge(k, size, maxBytes);
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  };

  return {
    kind: 'local',

    async presignUpload(k, { size, contentType, expiresInSec }) {
      assertSafeKey(k);
      const grant: Grant = { m: 'PUT', k, e: now() + expiresInSec * 1000, s: size, t: contentType };
      return presigned(grant, 'PUT', { 'content-type': contentType, 'content-length': String(size) });
    },

    async presignDownload(k, { expiresInSec, filename, contentType }) {
      assertSafeKey(k);
      const grant: Grant = { m: 'GET', k, e: now() + expiresInSec * 1000 };
      if (filename !== undefined) grant.f = filename;
      if (contentType !== undefined) grant.t = contentType;
      return presigned(grant, 'GET', {});
    },

    async redeemUpload(token, body, contentType) {
      const grant = verify(token, 'PUT');
      if (body.length !== grant.s) throw new BlobGrantError(400, 'BODY_MISMATCH', `the URL accepts ${grant.s} bytes, not ${body.length}`);
      const type = grant.t;
      if (type === undefined || contentType !== type) throw new BlobGrantError(400, 'BODY_MISMATCH', `the URL accepts Content-Type ${type}, not ${contentType ?? 'none'}`);
      await put(grant.k, body, type);
    },

    async redeemDownload(token) {
      const grant = verify(token, 'GET');
      const info = await head(grant.k);
      const body = info && (await read(grant.k, Number.MAX_SAFE_INTEGER));
      if (!info || !body) return null;
      return { body, contentType: grant.t ?? info.contentType, contentDisposition: grant.f === undefined ? null : contentDisposition(grant.f) };
    },

    head,

    async readStart(k, length) {
      const opened = await openObject(k);
      if (!opened) return null;
      const { handle } = opened;
      try {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, 0);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },

    read,
    put,

    async delete(k) {
      await rm(pathOf(objects, k), { force: true });
      await rm(pathOf(meta, k, '.json'), { force: true });
    },

    async *list(prefix) {
      // The deepest directory every match lies under; a prefix ending mid-segment ('a/b')
      // matches files of its parent ('a/bc', 'a/b/d').
      const cut = prefix.lastIndexOf('/');
      const dirPart = cut < 0 ? '' : prefix.slice(0, cut);
      if (dirPart !== '') assertSafeKey(dirPart);
      const found: ListedObject[] = [];
      const walk = async (dir: string, keyPrefix: string): Promise<void> => {
        const entries = await readdir(dir, { withFileTypes: true }).catch(missing);
        for (const entry of entries ?? []) {
          const k = keyPrefix + entry.name;
          if (entry.isDirectory()) {
            if ((k + '/').startsWith(prefix) || prefix.startsWith(k + '/')) await walk(join(dir, entry.name), k + '/');
          } else if (entry.isFile() && k.startsWith(prefix)) {
            const st = await stat(join(dir, entry.name)).catch(missing);
            if (st) found.push({ key: k, size: st.size, lastModified: Math.floor(st.mtimeMs) });
          }
        }
      };
      await walk(dirPart === '' ? objects : join(objects, dirPart), dirPart === '' ? '' : dirPart + '/');
      // Byte order, as S3 lists (UTF-8 binary order), not locale order.
      found.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
      yield* found;
    },

    async close() {},
  };
}

/** Null for a file or directory that is not there (ENOENT, or ENOTDIR on a path through a file); rethrows anything else. */
function missing(err: unknown): null {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return null;
  throw err;
}
