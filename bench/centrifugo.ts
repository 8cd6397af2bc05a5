import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, waitHttp } from './sut.js';

/** Centrifugo, the peer: built from its Go module (cached), run on loopback with a generated config. */
export const CENTRIFUGO_VERSION = 'v5.4.9';
const MODULE = 'github.com/centrifugal/centrifugo/v5';

export function centrifugoBinary(): string {
  return join(process.env.IM_STACK_CACHE ?? join(homedir(), '.cache/im-stack'), 'bin/centrifugo');
}

/** `go mod download` then `go build` inside the module (the proxy refuses version lists, so no `go install pkg@version`). */
export function ensureCentrifugo(log: (s: string) => void): string {
  const bin = centrifugoBinary();
  if (existsSync(bin)) return bin;
  log(`[peer] building Centrifugo ${CENTRIFUGO_VERSION} (once, cached at ${bin})`);
  const dl = spawnSync('go', ['mod', 'download', '-json', `${MODULE}@${CENTRIFUGO_VERSION}`], { encoding: 'utf8' });
  if (dl.status !== 0) throw new Error(`go mod download failed: ${dl.stderr}`);
  const dir = (JSON.parse(dl.stdout) as { Dir: string }).Dir;
  mkdirSync(join(bin, '..'), { recursive: true });
  const build = spawnSync('go', ['build', '-mod=mod', '-o', bin, '.'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-modcacherw' } });
  if (build.status !== 0) throw new Error(`go build failed: ${build.stderr.slice(-2000)}`);
  return bin;
}

export interface RunningCentrifugo {
  proc: ManagedProcess;
  wsUrl: string;
  secret: string;
  version: string;
}

export async function startCentrifugo(port: number, workDir: string, log: (s: string) => void): Promise<RunningCentrifugo> {
  const bin = ensureCentrifugo(log);
  const secret = `bench-${Math.random().toString(36).slice(2)}`;
  mkdirSync(workDir, { recursive: true });
  const config = join(workDir, 'centrifugo.json');
  writeFileSync(
    config,
    JSON.stringify({
      token_hmac_secret_key: secret,
      api_key: `${secret}-api`,
      allowed_origins: ['*'],
      allow_subscribe_for_client: true,
      allow_publish_for_client: true,
      presence: false,
      health: true,
      log_level: 'error',
      address: '127.0.0.1',
      port: String(port),
    }),
  );
  const proc = new ManagedProcess('centrifugo', bin, ['--config', config], {});
  await waitHttp(`http://127.0.0.1:${port}/health`, 30_000, proc);
  const v = spawnSync(bin, ['version'], { encoding: 'utf8' }).stdout.trim();
  return { proc, wsUrl: `ws://127.0.0.1:${port}/connection/websocket`, secret, version: v || CENTRIFUGO_VERSION };
}
