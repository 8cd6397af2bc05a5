import type { PlatformConfig } from '../../core/config.js';
import { createLocalObjectStore } from './object-store-local.js';
import type { ObjectStore } from './object-store.js';
import { createS3ObjectStore } from './object-store-s3.js';

/**
 * The object store the configuration selects: the S3 bucket when IM_S3_ENDPOINT is set, else the
 * local directory, whose URLs name this platform's own HTTP address (IM_MEDIA_PUBLIC_URL, or
 * the edge's host and port; a wildcard host is reached on loopback).
 */
export function objectStoreFromConfig(config: Pick<PlatformConfig, 'media' | 'edge'>): ObjectStore {
  const { store } = config.media;
  if (store.kind === 's3' && store.s3) return createS3ObjectStore(store.s3);
  const host = config.edge.host === '0.0.0.0' || config.edge.host === '::' ? '127.0.0.1' : config.edge.host;
  return createLocalObjectStore({ dir: store.localDir, baseUrl: store.localPublicUrl ?? `http://${host}:${config.edge.port}`, signingKey: store.signingKey });
}
