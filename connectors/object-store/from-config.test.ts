import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { objectStoreFromConfig } from './from-config.js';

/** The media store's settings (core/config.ts) and the store they select; nothing is contacted. */
describe('object store from config', () => {
  it('is the local directory unless IM_S3_ENDPOINT is set, its URLs on the edge', async () => {
    const config = loadConfig({ IM_EDGE_HOST: '0.0.0.0', IM_EDGE_PORT: '8099' });
    expect(config.media.store).toMatchObject({ kind: 'local', s3: null, localDir: '.data/media', localPublicUrl: null, signingKey: null });
    const store = objectStoreFromConfig(config);
    expect(store.kind).toBe('local');
    expect((await store.presignDownload('a/b', { expiresInSec: 60 })).url).toMatch(/^http:\/\/127\.0\.0\.1:8099\/v1\/media\/blob\//);
    const pub = objectStoreFromConfig(loadConfig({ IM_MEDIA_PUBLIC_URL: 'https://im.example.test/' }));
    expect((await pub.presignDownload('a/b', { expiresInSec: 60 })).url).toMatch(/^https:\/\/im\.example\.test\/v1\/media\/blob\//);
  });

  it('is the S3 bucket with IM_S3_ENDPOINT, with the stack\'s identity by default, and signs for the public endpoint', async () => {
    const config = loadConfig({ IM_S3_ENDPOINT: 'http://127.0.0.1:8333', IM_S3_PUBLIC_ENDPOINT: 'https://media.example.test' });
    expect(config.media.store.s3).toEqual({
      endpoint: 'http://127.0.0.1:8333',
      publicEndpoint: 'https://media.example.test',
      region: 'us-east-1',
      bucket: 'im-media',
      accessKeyId: 'im-platform',
      secretAccessKey: 'im-platform-dev-secret',
    });
    const store = objectStoreFromConfig(config);
    expect(store.kind).toBe('s3');
    const up = await store.presignUpload('a/b', { size: 3, contentType: 'image/png', expiresInSec: 60 });
    expect(up.url).toMatch(/^https:\/\/media\.example\.test\/im-media\/a\/b\?/);
    expect(new URL(up.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    await store.close();
  });

  it('refuses an endpoint with a path, a short signing key, and the development identity in production', () => {
    expect(() => loadConfig({ IM_S3_ENDPOINT: 'http://127.0.0.1:8333/im-media' })).toThrow(/IM_S3_ENDPOINT=.* must be an http or https origin/);
    expect(() => loadConfig({ IM_MEDIA_SIGNING_KEY: 'short' })).toThrow(/IM_MEDIA_SIGNING_KEY must be at least 32 characters/);
    expect(() => loadConfig({ IM_MODE: 'production', IM_S3_ENDPOINT: 'https://s3.example.test' })).toThrow(/IM_S3_ACCESS_KEY_ID must be set in production mode/);
  });
});
