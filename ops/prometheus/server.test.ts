import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort, platformProcess, type PlatformProcess } from '../../e2e/chaos-processes.js';
import { redisAnswers, startPrivateRedis } from '../../e2e/private-redis.js';
import { startPrometheus, type PrometheusAlert, type RunningPrometheus } from './server.js';

/**
 * The alerts end to end: a real Prometheus (the stack's build) scrapes a real gateway process
 * (ops/bin/gateway.ts) and evaluates ops/prometheus/alerts.yml every second. The gateway's
 * Redis, a private one, dies and comes back empty with a client connected: ImDependencyDown
 * goes pending (its `for:` is a minute, so it must not fire in a short outage), and once Redis
 * is back the gateway rebuilds presence from its socket and ImPresenceRebuilt fires, all seen
 * through Prometheus's HTTP API. The gateway runs the in-memory engine: Redis is its only
 * dependency, so nothing else can fail.
 */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A user with one open socket: what presence holds and must rebuild. */
async function connectUser(baseUrl: string, username: string): Promise<WebSocket> {
  const post = async (path: string, body: object): Promise<Response> =>
    fetch(baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const password = 'correct horse battery';
  const reg = await post('/v1/auth/register', { username, password });
  expect(reg.status, await reg.clone().text()).toBe(201);
  const login = (await (await post('/v1/auth/login', { username, password, device_id: 'phone' })).json()) as { access_token: string };
  const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/ws?token=${login.access_token}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

const find = (alerts: PrometheusAlert[], name: string, labels: Record<string, string>): PrometheusAlert | undefined =>
  alerts.find((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v));

describe('a real Prometheus scraping a gateway process', () => {
  const id = randomUUID().slice(0, 8);
  let redis: ChildProcess | undefined;
  let gateway: PlatformProcess | undefined;
  let prometheus: RunningPrometheus | undefined;
  let ws: WebSocket | undefined;
  afterAll(async () => {
    ws?.terminate();
    await prometheus?.stop();
    await gateway?.kill();
    redis?.kill('SIGKILL');
  });

  it('sees ImDependencyDown pending while Redis is gone and ImPresenceRebuilt fire when it is back empty', async () => {
    const redisPort = await freePort();
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    redis = startPrivateRedis(redisPort);
    await until('private Redis up', () => redisAnswers(redisUrl), 10_000);

    const edgePort = await freePort();
    const target = `127.0.0.1:${edgePort}`;
    gateway = platformProcess({
      name: 'gateway',
      script: 'gateway',
      readyPort: edgePort,
      logDir: join(tmpdir(), `im-prometheus-test-${id}`),
      env: {
        IM_ENGINE: 'memory',
        IM_REDIS_URL: redisUrl,
        IM_MONGO_URL: '',
        IM_EDGE_PORT: String(edgePort),
        IM_GATEWAY_ID: `prom-${id}`,
        IM_AUTH_SCRYPT_COST: '1024',
        IM_HEALTH_INTERVAL_MS: '200',
        IM_HEALTH_TIMEOUT_MS: '500',
      },
    });
    gateway.start();
    await gateway.waitReady(60_000);
    ws = await connectUser(`http://${target}`, `prom_${id}`);

    const prom = (prometheus = await startPrometheus({ targets: { gateway: [target] } }));
    // Healthy and scraped: Redis up, the rebuild counters exported at 0 (an increase from 0 is
    // what ImPresenceRebuilt sees), and no alert.
    await prom.waitFor('the gateway scraped with redis up', async () => ((await prom.query(`im_dependency_up{job="gateway", dependency="redis"}`))[0]?.value === 1 ? true : undefined), 30_000);
    const counters = await prom.query('im_presence_rebuilds_total{job="gateway"}');
    expect(counters.map((c) => [c.metric.trigger, c.value]).sort()).toEqual([['heartbeat', 0], ['reconnect', 0], ['start', 0]]);
    expect(await prom.alerts()).toEqual([]);

    redis.kill('SIGKILL');
    const down = await prom.waitFor('ImDependencyDown for redis', async () => find(await prom.alerts(), 'ImDependencyDown', { instance: target, dependency: 'redis' }), 30_000);
    expect(down.state).toBe('pending');
    expect(down.labels.severity).toBe('critical');

    redis = startPrivateRedis(redisPort); // empty: the presence entry of the open socket is gone
    const rebuilt = await prom.waitFor('ImPresenceRebuilt firing', async () => {
      const a = find(await prom.alerts(), 'ImPresenceRebuilt', { instance: target });
      return a?.state === 'firing' ? a : undefined;
    }, 30_000);
    expect(rebuilt.labels.severity).toBe('warning');
    expect(rebuilt.annotations.summary).toBe(`${target} rebuilt presence from its sockets (${rebuilt.labels.trigger})`);
    // Redis answered again well within ImDependencyDown's minute: it leaves without firing.
    await prom.waitFor('ImDependencyDown gone', async () => (find(await prom.alerts(), 'ImDependencyDown', { instance: target }) ? undefined : true), 30_000);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  }, 180_000);
});
