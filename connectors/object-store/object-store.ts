import { PlatformError } from '../../core/errors.js';

/**
 * Where media bytes live: an S3-compatible bucket in production and in the test stack
 * (`object-store-s3.ts`, SeaweedFS here), a local directory served by the platform itself for
 * `make run` (`object-store-local.ts`). Clients never send bytes through the pipeline: they PUT
 * to a presigned upload URL and GET from a presigned download URL; the platform only signs,
 * inspects (size, type, first bytes) and deletes.
 *
 * Keys are the platform's own (domain/media.ts names them); a store never
 * interprets them. Every operation is idempotent except `presign*`, which only signs.
 */
export interface ObjectInfo {
  size: number;
  /** As stored: for a presigned upload, the Content-Type the upload was signed for. */
  contentType: string;
  /** Epoch milliseconds of the last write. */
  lastModified: number;
}

export interface PresignedRequest {
  url: string;
  method: 'PUT' | 'GET';
  /** Headers the client must send exactly as given (they are part of the signature). */
  headers: Record<string, string>;
  /** Epoch milliseconds after which the store refuses the URL. */
  expiresAt: number;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: number;
}

export interface ObjectStore {
  readonly kind: 's3' | 'local';
  /** A URL that accepts exactly `size` bytes of `contentType` at `key` until it expires. */
  presignUpload(key: string, o: { size: number; contentType: string; expiresInSec: number }): Promise<PresignedRequest>;
  /** A URL that reads `key` until it expires; `filename` sets the download's Content-Disposition. */
  presignDownload(key: string, o: { expiresInSec: number; filename?: string; contentType?: string }): Promise<PresignedRequest>;
  /** Size, type and time of the object; null when there is none. */
  head(key: string): Promise<ObjectInfo | null>;
  /** The first `length` bytes (fewer when the object is shorter); null when there is none. */
  readStart(key: string, length: number): Promise<Buffer | null>;
  /** The whole object, refused (rejects) when it is larger than `maxBytes`; null when there is none. */
  read(key: string, maxBytes: number): Promise<Buffer | null>;
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** Deleting what is not there succeeds. */
  delete(key: string): Promise<void>;
  /** Objects under `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ListedObject>;
  close(): Promise<void>;
}

/**
 * What `read` rejects with when the object is larger than asked for: not retriable, the object
 * will not shrink. The pipeline treats it like a refused upload.
 */
export function objectTooLarge(key: string, size: number, maxBytes: number): PlatformError {
  return new PlatformError('OBJECT_TOO_LARGE', `object ${key} is ${size} bytes, more than the ${maxBytes} asked for`);
}

/**
 * The Content-Disposition of a download named `filename`, the same from both stores: an ASCII
 * fallback in `filename` (quotes, backslashes and anything outside printable ASCII become `_`)
 * and the exact name in `filename*` (RFC 6266 / RFC 5987), so no name can inject a header.
 */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const exact = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
