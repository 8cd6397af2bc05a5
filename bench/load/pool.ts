import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectReply, ConnectRequest, DirectRequest, FanoutRequest, PhaseReply, StatusReply, TickEvent, WorkerEvent, WorkerRequest } from './messages.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

type Body<R extends WorkerRequest> = R extends ConnectRequest ? ConnectReply : R extends { op: 'collect' } ? PhaseReply : R extends { op: 'status' } ? StatusReply : null;

/** A load-generator worker process, driven by request/reply over IPC. */
export class Worker {
  readonly child: ChildProcess;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (b: unknown) => void; reject: (e: Error) => void }>();

  constructor(readonly index: number, onTick: (t: TickEvent) => void) {
    // --profile: the load generator's workers write CPU profiles too, beside the SUT's.
    const profileDir = process.env.IM_BENCH_PROFILE_DIR;
    const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, `load-w${index}`)}`] : [];
    this.child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=4096', ...profile],
      env: { ...process.env, BENCH_WORKER_ID: `w${index}` },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (e: WorkerEvent) => {
      if (e.op === 'tick') return onTick(e);
      const w = this.waiting.get(e.id);
      this.waiting.delete(e.id);
      if (!w) return;
      if (e.ok) w.resolve(e.body ?? null);
      else w.reject(new Error(`worker ${index}: ${e.error}`));
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`worker ${index} exited (${code})`));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  call<R extends WorkerRequest>(req: R): Promise<Body<R>> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (b: unknown) => void, reject });
      this.child.send({ ...req, id });
    });
  }
}

/** A set of workers whose per-second ticks are summed for the progress display. */
export class WorkerPool {
  readonly workers: Worker[];
  private acc = { sent: 0, acked: 0, delivered: 0, errors: 0, open: new Map<number, number>() };

  constructor(count: number) {
    this.workers = Array.from({ length: count }, (_, i) => new Worker(i, (t) => this.onTick(i, t)));
  }

  private onTick(i: number, t: TickEvent): void {
    this.acc.sent += t.sent;
    this.acc.acked += t.acked;
    this.acc.delivered += t.delivered;
    this.acc.errors += t.errors;
    this.acc.open.set(i, t.open);
  }

  /** Counts since the previous call, and connections open now. */
  takeTicks(): { sent: number; acked: number; delivered: number; errors: number; open: number } {
    const { sent, acked, delivered, errors } = this.acc;
    const open = [...this.acc.open.values()].reduce((a, b) => a + b, 0);
    Object.assign(this.acc, { sent: 0, acked: 0, delivered: 0, errors: 0 });
    return { sent, acked, delivered, errors, open };
  }

  pids(): Map<string, number> {
    return new Map(this.workers.map((w) => [`bench-worker-${w.index}`, w.pid]));
  }

  all<R extends WorkerRequest>(req: R | ((w: Worker) => R | null)): Promise<Body<R>[]> {
    return Promise.all(
      this.workers.flatMap((w) => {
        const r = typeof req === 'function' ? req(w) : req;
        return r ? [w.call(r)] : [];
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.call({ op: 'close' })));
    // A worker exits by itself just after (writing its CPU profile when asked); one that does not is killed.
    await Promise.all(this.workers.map((w) => (w.child.exitCode === null ? Promise.race([once(w.child, 'exit'), new Promise((r) => setTimeout(r, 3_000))]) : null)));
    for (const w of this.workers) if (w.child.exitCode === null) w.child.kill();
  }
}

export type { DirectRequest, FanoutRequest };
