import { BLOB_ROUTE_PATH, BlobGrantError, type LocalObjectStore } from '../../connectors/object-store/object-store-local.js';
import { HttpError, type HttpRoute } from './routes.js';

/** The largest upload the routes read into memory, whatever a grant says: a development store. */
export const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024;

/**
 * The routes the local object store's presigned URLs point at (`make run` only; with S3 the
 * client talks to the bucket). No bearer token: the signed token in the path is the
 * authorisation, as an S3 presigned URL's signature is. `maxBodyBytes` bounds what one upload
 * may hold in memory before its grant's exact size is compared.
 */
export function mediaBlobRoutes(store: LocalObjectStore, o: { maxBodyBytes?: number } = {}): HttpRoute[] {
  // Answered with the protocol's codes (protocol/codes.ts); the message says which check failed.
  const refused = (err: unknown): never => {
    if (err instanceof BlobGrantError) throw new HttpError(err.status, err.status === 403 ? 'FORBIDDEN' : 'BAD_REQUEST', err.message);
    throw err;
  };
  return [
    {
      method: 'PUT',
      path: `${BLOB_ROUTE_PATH}/:token`,
      auth: false,
      raw: { maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BLOB_BYTES },
      handler: async (req) => {
        await store.redeemUpload(req.params.token ?? '', req.rawBody ?? Buffer.alloc(0), req.headers['content-type']).catch(refused);
        return { status: 200, body: { ok: true } };
      },
    },
    {
      method: 'GET',
      path: `${BLOB_ROUTE_PATH}/:token`,
      auth: false,
      handler: async (req) => {
        const blob = await store.redeemDownload(req.params.token ?? '').catch(refused);
        if (!blob) throw new HttpError(404, 'NOT_FOUND', 'no such object');
        const headers: Record<string, string> = { 'content-type': blob.contentType, 'cache-control': 'private, no-store' };
        if (blob.contentDisposition) headers['content-disposition'] = blob.contentDisposition;
        return { status: 200, body: blob.body, headers };
      },
    },
  ];
}
