import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { contentDisposition, objectTooLarge, type ObjectStore, type PresignedRequest } from './object-store.js';

/**
 * The object store over an S3-compatible bucket (SeaweedFS in the stack, any S3 in production).
 *
 * Two clients with the same credentials: one on the internal endpoint for the platform's own
 * calls, one on the public endpoint that only signs the URLs handed to clients (no request goes
 * through it), since a presigned URL's host is part of its signature. Path-style addressing
 * (`endpoint/bucket/key`), which SeaweedFS and most self-hosted stores want.
 */
export interface S3ObjectStoreOptions {
  /** Where the platform reaches the store, e.g. `http://127.0.0.1:8333`. */
  endpoint: string;
  /** Where clients reach it; default `endpoint`. */
  publicEndpoint?: string | null;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Sockets the platform's calls may hold open to the store at once; the rest queue. */
  maxSockets?: number;
  requestTimeoutMs?: number;
}

export interface S3ObjectStore extends ObjectStore {
  readonly kind: 's3';
  readonly bucket: string;
}

export function createS3ObjectStore(o: S3ObjectStoreOptions): S3ObjectStore {
  const agentOptions = { keepAlive: true, maxSockets: o.maxSockets ?? 32 };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);
  const common = {
    region: o.region,
    forcePathStyle: true,
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    // The SDK's default adds a CRC32 checksum of the body to every PutObject: in a presigned
    // PUT that is the checksum of no body, and the client's real body would fail it.
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  };
  const client = new S3Client({
    ...common,
    endpoint: o.endpoint,
    maxAttempts: 3,
    // The SDK builds its Node handler from these options: our agents bound the sockets.
    requestHandler: { httpAgent, httpsAgent, connectionTimeout: 5_000, requestTimeout: o.requestTimeoutMs ?? 30_000 },
  });
  const signer = o.publicEndpoint && o.publicEndpoint !== o.endpoint ? new S3Client({ ...common, endpoint: o.publicEndpoint }) : client;
  const Bucket = o.bucket;

  const presign = async (command: PutObjectCommand | GetObjectCommand, expiresInSec: number, signableHeaders: Set<string>): Promise<string> =>
    getSignedUrl(signer, command, { expiresIn: expiresInSec, signableHeaders });

  const head = async (key: string) => {
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
      return { size: out.ContentLength ?? 0, contentType: out.ContentType ?? 'application/octet-stream', lastModified: out.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  };

  return {
    kind: 's3',
    bucket: Bucket,

    async presignUpload(key, { size, contentType, expiresInSec }): Promise<PresignedRequest> {
      const expiresAt = Date.now() + expiresInSec * 1000;
      // Content-Type and Content-Length are signed headers: a store that checks them refuses a
      // body of another size or type (SeaweedFS's behaviour is measured in object-store.test.ts).
      const url = await presign(new PutObjectCommand({ Bucket, Key: key, ContentType: contentType, ContentLength: size }), expiresInSec, new Set(['content-type', 'content-length']));
      return { url, method: 'PUT', headers: { 'content-type': contentType, 'content-length': String(size) }, expiresAt };
    },

    async presignDownload(key, { expiresInSec, filename, contentType }): Promise<PresignedRequest> {
      const expiresAt = Date.now() + expiresInSec * 1000;
      const command = new GetObjectCommand({
        Bucket,
        Key: key,
        ...(filename === undefined ? {} : { ResponseContentDisposition: contentDisposition(filename) }),
        ...(contentType === undefined ? {} : { ResponseContentType: contentType }),
      });
      return { url: await presign(command, expiresInSec, new Set()), method: 'GET', headers: {}, expiresAt };
    },

    head,

    async readStart(key, length) {
      // An empty range is not expressible ('bytes=0--1'), and a range on an empty object is 416.
      if (length === 0) return (await head(key)) ? Buffer.alloc(0) : null;
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: key, Range: `bytes=0-${length - 1}` }));
        return await collect(out.Body as Readable, length, key);
      } catch (err) {
        if (isNotFound(err)) return null;
        if (statusOf(err) === 416) return (await head(key)) ? Buffer.alloc(0) : null;
        throw err;
      }
    },

    async read(key, maxBytes) {
      let out;
      try {
        out = await client.send(new GetObjectCommand({ Bucket, Key: key }));
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
      const body = out.Body as Readable;
      if ((out.ContentLength ?? 0) > maxBytes) {
        body.destroy();
        throw objectTooLarge(key, out.ContentLength ?? 0, maxBytes);
      }
      return collect(body, maxBytes, key, true);
    },

    async put(key, body, contentType) {
      await client.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: contentType, ContentLength: body.length }));
    },

    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },

    async *list(prefix) {
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken }));
        for (const item of page.Contents ?? []) {
          if (item.Key === undefined) continue;
          yield { key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified?.getTime() ?? 0 };
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },

    async close() {
      client.destroy();
      if (signer !== client) signer.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/**
 * The body's bytes, at most `max`: past it the stream is dropped and, when `refuse`, the read
 * rejects (a store that answered without Content-Length cannot make us hold more than asked).
 */
async function collect(body: Readable, max: number, key: string, refuse = false): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) {
      body.destroy();
      if (refuse) throw objectTooLarge(key, size, max);
      chunks.push(buf.subarray(0, buf.length - (size - max)));
      size = max;
      break;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

function statusOf(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}

/** HeadObject's 404 has no body to name it (`NotFound`), GetObject's says NoSuchKey. */
function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404 || (err instanceof Error && (err.name === 'NotFound' || err.name === 'NoSuchKey'));
}
