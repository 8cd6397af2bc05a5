import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { testAuth } from './testing.js';

/**
 * Measures the gateway's memory per idle connection: starts the gateway in its own process
 * (crash-fixture.ts, Redis presence), opens N authenticated idle connections from here and
 * reports the gateway process's RSS growth per connection. Run:
 *   npx tsx edge/gateway/memory-probe.ts [connections=5000]
 */
const n = Number(process.argv[2] ?? 5_000);
const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
import { sleep } from '../../core/retry.js';

const auth = await testAuth();
const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', new URL('./crash-fixture.ts', import.meta.url).pathname], {
  env: {
    ...process.env,
    FIXTURE_JWK: JSON.stringify(auth.publicJwk),
    FIXTURE_REDIS_URL: process.env.IM_REDIS_URL ?? 'redis://127.0.0.1:6379',
    FIXTURE_PREFIX: `probe-${randomUUID()}:`,
    FIXTURE_GATEWAY_ID: 'gw-probe',
    FIXTURE_HEARTBEAT_MS: '30000',
    FIXTURE_TIMEOUT_MS: '90000',
    IM_LOG_LEVEL: 'warn',
    IM_MAX_DEVICES_PER_USER: '5',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(String(d)) as { port: number }).port)));
await sleep(1_000);
const before = rssKb(child.pid!);
const clients: WebSocket[] = [];
for (let i = 0; i < n; i += 200) {
  await Promise.all(
    Array.from({ length: Math.min(200, n - i) }, async (_, j) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${await auth.sign(`u${i + j}`, 'phone', 3_600)}`);
      clients.push(ws);
      await new Promise((r, e) => ws.once('open', r).once('error', e));
    }),
  );
}
await sleep(3_000);
const after = rssKb(child.pid!);
const perConn = ((after - before) * 1024) / n;
process.stdout.write(JSON.stringify({ connections: n, rssBeforeMb: +(before / 1024).toFixed(1), rssAfterMb: +(after / 1024).toFixed(1), bytesPerConnection: Math.round(perConn) }) + '\n');
for (const ws of clients) ws.terminate();
child.kill('SIGKILL');
process.exit(0);
