import { afterEach, describe, expect, it } from 'vitest';
import { loadNativeUws } from './uws.js';

describe('uWebSockets.js loading', () => {
  const saved = process.env.UWS_USE_FALLBACK;
  afterEach(() => {
    if (saved === undefined) delete process.env.UWS_USE_FALLBACK;
    else process.env.UWS_USE_FALLBACK = saved;
  });

  it('loads the native binding on this machine', () => {
    const uws = loadNativeUws();
    expect(typeof uws.App).toBe('function');
    expect(typeof uws.us_socket_local_port).toBe('function');
  });

  it('refuses to start on the JS fallback', () => {
    process.env.UWS_USE_FALLBACK = 'true';
    expect(() => loadNativeUws()).toThrow(/native uWebSockets.js/);
  });
});
