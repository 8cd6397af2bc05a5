import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import type { MemberState, StampedMessage } from '../schemas/types.generated.js';
import { Topology } from '../streams/index.js';
import { TopologyTestDriver } from '../streams/testing.js';
import { startTestGateway } from '../edge/gateway/testing.js';
import { conversationCounter } from '../topologies/examples/conversation-counter.js';
import { startMetricsServer } from './metrics-server.js';
import { stateViewRoutes } from './state-view.js';

/**
 * The operators' state view over real HTTP, on a processors process's metrics server: a topology
 * with an output table, a store and a table runs on the test driver; lookups and counts answer
 * only with the admin token, and the view is off without one.
 */
const token = randomBytes(24).toString('base64url');

function stamped(conversationId: string, seq: number): { key: string; value: StampedMessage } {
  return {
    key: conversationId,
    value: {
      correlationId: `c${seq}`, messageId: `${conversationId}/${seq}`, seq, sender: 'ann', origin: null, clientMsgId: `k${seq}`, conversationId,
      recipientKind: 'GROUP', recipientId: 'team', content: `hello ${seq}`, contentType: 'text', mentions: [], clientTimestamp: seq, receivedAt: seq, stampedAt: seq,
    },
  };
}

const member = (groupId: string, userId: string): { key: string; value: MemberState } => ({ key: `${groupId}|${userId}`, value: { groupId, userId, role: 'MEMBER', mutedUntil: 0, joinedAt: 1 } });

/** The counter (two output tables), a store of last seqs, and a reader of the members table. */
function topology(): Topology {
  return new Topology('state-view')
    .processor('counter', conversationCounter())
    .processor('last-seq', (p) => {
      const seqs = p.store('im.state.sequences');
      const members = p.table('im.state.members');
      p.stream('im.msg.stamped').process([], async (r, ctx) => {
        void ctx.table(members);
        ctx.store(seqs).put(r.value.conversationId, { conversationId: r.value.conversationId, seq: r.value.seq, updatedAt: 0 });
        return [];
      }, 'remember');
    });
}

describe('the state view', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  /** The view over the driver's state, on a processors process's metrics server or, as `make run` mounts it, on the gateway. */
  async function serve(adminToken: string | null, on: 'metrics server' | 'gateway' = 'metrics server'): Promise<(path: string, bearer?: string) => Promise<{ status: number; body: Record<string, unknown> }>> {
    const driver = await TopologyTestDriver.start(topology());
    closers.push(() => driver.close());
    await driver.pipe('im.state.members', [member('g1', 'ann'), member('g1', 'bob'), member('g2', 'cy')]);
    await driver.pipe('im.msg.stamped', [stamped('g:team', 1), stamped('g:team', 2), stamped('d:ann:bob', 1)]);
    const routes = stateViewRoutes(() => driver.queryableState(), { adminToken });
    let port: number;
    if (on === 'gateway') {
      const gateway = await startTestGateway({ routes });
      closers.push(() => gateway.close());
      port = gateway.port;
    } else {
      const server = await startMetricsServer(0, () => ({ ready: true }), { routes });
      closers.push(() => server.close());
      port = server.port;
    }
    return async (path, bearer) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
  }

  it('lists the stores and tables with their counts, and says which is which', async () => {
    const get = await serve(token);
    const listing = await get('/state', token);
    expect(listing.status).toBe(200);
    expect(listing.body.stores).toEqual([
      { name: 'im.example.conversation-counts', kind: 'output table', processors: ['counter'], entries: 2 },
      { name: 'im.example.latest-message', kind: 'output table', processors: ['counter'], entries: 2 },
      { name: 'im.state.members', kind: 'table', processors: ['last-seq'], entries: 3 },
      { name: 'im.state.sequences', kind: 'store', processors: ['last-seq'], entries: 2 },
    ]);
    expect((await get('/state/im.state.members', token)).body).toEqual({ name: 'im.state.members', kind: 'table', processors: ['last-seq'], entries: 3 });
  });

  it('looks a key up, percent-encoded, and lists the keys under a prefix', async () => {
    const get = await serve(token);
    expect(await get('/state/im.example.conversation-counts/g%3Ateam', token)).toEqual({ status: 200, body: { store: 'im.example.conversation-counts', key: 'g:team', value: { key: 'g:team', count: 2 } } });
    expect((await get(`/state/im.state.members/${encodeURIComponent('g1|bob')}`, token)).body.value).toEqual({ groupId: 'g1', userId: 'bob', role: 'MEMBER', mutedUntil: 0, joinedAt: 1 });
    const g1 = await get('/state/im.state.members?prefix=g1&limit=1', token);
    expect(g1.body).toMatchObject({ prefix: 'g1', matched: 2, entries: [{ key: 'g1|ann' }] });
    expect(await get('/state/im.state.members/g9%7Cnobody', token)).toMatchObject({ status: 404, body: { error_code: 'NOT_FOUND' } });
    expect(await get('/state/im.state.nothing', token)).toMatchObject({ status: 404, body: { error_code: 'NOT_FOUND' } });
  });

  it('answers only with the admin token', async () => {
    const get = await serve(token);
    for (const path of ['/state', '/state/im.state.sequences', '/state/im.state.sequences/g:team']) {
      expect(await get(path), path).toMatchObject({ status: 401, body: { error_code: 'UNAUTHORIZED' } });
      expect(await get(path, `${token}x`), path).toMatchObject({ status: 401, body: { error_code: 'UNAUTHORIZED' } });
    }
    // The probes stay open.
    expect((await get('/healthz')).status).toBe(200);
  });

  it('answers the same on the gateway of make run', async () => {
    const get = await serve(token, 'gateway');
    expect((await get('/state', token)).body.stores).toHaveLength(4);
    expect((await get(`/state/im.state.members/${encodeURIComponent('g1|ann')}`, token)).body).toMatchObject({ key: 'g1|ann', value: { userId: 'ann' } });
    expect((await get('/state/im.state.members?prefix=g1', token)).body).toMatchObject({ matched: 2 });
    expect(await get('/state/im.state.members', `${token}x`)).toMatchObject({ status: 401, body: { error_code: 'UNAUTHORIZED' } });
  });

  it('is off without a token, and refuses a short one at start', async () => {
    const get = await serve(null);
    expect(await get('/state', token)).toMatchObject({ status: 404, body: { error_message: expect.stringContaining('IM_ADMIN_TOKEN') } });
    expect(() => loadConfig({ IM_ADMIN_TOKEN: 'short' })).toThrow(/IM_ADMIN_TOKEN must be at least 24 characters/);
    expect(loadConfig({ IM_ADMIN_TOKEN: token }).admin.token).toBe(token);
  });
});
