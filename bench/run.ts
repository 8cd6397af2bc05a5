import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { mongoAnswers } from './mongo-check.js';
import { join } from 'node:path';
import { PROCESSOR_NAMES } from '../topologies/im-topology.js';
import { intFlag, parseFlags, strFlag } from './args.js';
import type { BenchContext, ScenarioOutput, SutHandle, SutProcess } from './context.js';
import { WorkerPool } from './load/pool.js';
import { childPids, CpuMeter, sampleProc } from './procstat.js';
import { Progress } from './progress.js';
import { renderReport } from './report/html.js';
import { stepTables } from './report/step-tables.js';
import { describeStages, readStages, scrapeStages, stageFigures, stagesSince } from './stages.js';
import { gitInfo, machineInfo, stamp, versions, type BenchResult } from './results.js';
import { baselineScenario } from './scenarios/baseline.js';
import { collectAll, connectAll } from './scenarios/common.js';
import { BARE_PORT, connectionsScenario, socketsPerProcess } from './scenarios/connections.js';
import { directScenario } from './scenarios/direct.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { mediaScenario } from './scenarios/media.js';
import { persistScenario } from './scenarios/persist.js';
import { peerScenario } from './scenarios/peer.js';
import { soakScenario } from './scenarios/soak.js';
import { faultsScenario } from './scenarios/faults.js';
import { imTarget } from './scenarios/target-im.js';
import type { Target } from './scenarios/targets.js';
import { summarize } from './summary.js';
import { targetRows, targetsTable, type TargetInputs } from './targets-table.js';
import type { BaselineFigures } from './scenarios/baseline.js';
import type { RateStep } from './scenarios/direct.js';
import { assertPortsFree, PortsTaken, ensureStack, generatePrivateKeyPem, hardFileLimit, nodeProcess, ROOT, stackPids, sutEntryPoints, sutEnv, waitGatewayWorkers, waitHttp, type ManagedProcess } from './sut.js';
import { imKeys, userIds } from './tokens.js';
import { CENTRIFUGO_VERSION } from './centrifugo.js';
import { nowMs } from './clock.js';

import { createNamespace, dropNamespace } from './namespace.js';

/**
 * `make bench`: starts the stack and the system under test (or uses --ws-url), runs the chosen
 * scenarios (all, at a reduced size, by default) and writes JSON, HTML and latest.md under
 * bench/results/. Flags: see USAGE.
 */
const USAGE = `usage: npx tsx bench/run.ts [--scenario connections,direct,fanout,media,persist,baseline,peer,soak,faults]
  --connections N (10000)  --hold-sec S (30)  --heartbeat-ms MS (10000)
  --persistence true|false (direct: false stops the writer for the steps)
  --clients kafkajs,confluent,platformatic  --hops 1,2 (baseline: relays; 1 is the plan's)  --tuning '{"lingerMs":0}' (baseline: a KafkaTuning for every client)
  --rates R1,R2 (direct 250,500,1000; baseline 1000,5000)  --baseline-rates R1,R2 (baseline, over --rates)  --seconds S (10)  --pairs N (500)  --search true|false  --search-steps N (3)  --max-rate R  --p99-ms MS (100)
  --groups 100,1000  --fanout-messages N (5)  --burst-messages N (20)  --burst-rate R (20)
  --media-pairs N (4)  --media-bytes B (2097152: each PNG)  --media-drain-sec S (60: for the last MEDIA_READY)  (media: --seconds of uploads)
  --backlog N (10000)  --persist-load-rate R (500)  --persist-load-sec S (10)  --ceiling-messages N (3000)
  --peer-connections N  --peer-port P (18000)  --bare-port P (18001: a bare uWS process the connections scenario measures uWS's memory per socket on)
  --soak-minutes M (30 when soak is named, 5 in the full run)  --soak-rate R (half of direct's highest passing rate in this run; half its lowest when it held none; else 50)  --soak-window-sec S (60)  --soak-pairs N (25)
  --faults broker-kill,broker-stop,redis-restart,db-freeze,gateway-kill,processor-stuck (faults: which, in order; default all)
  --fault-rate R (40, 1:1 msg/s)  --fault-group-rate R (10)  --fault-pairs N (20)  --fault-groups N (2)  --fault-group-size N (5)
  --broker-stop-sec S (30)  --db-freeze-sec S (60)  --stuck-sec S (40)  --fault-before-sec S (8)  --fault-after-sec S (15)  --fault-ack-timeout-ms MS (3000)
  --ws-url ws://host:port/ws --gateway-pid PID (an external SUT; IM_AUTH_PRIVATE_KEY_PEM must be its key)
  --profile (CPU profiles of each SUT process and load generator worker, bench/results/<run>-profiles/<process>/, load-w<N>/)
  --no-stack  --source-addresses N (8)  --edge-port P (18080)
  --writer-fetch-min-bytes B (65536: IM_KAFKA_FETCH_MIN_BYTES of the writers' process, as ops/k8s's storage group; 1 answers each fetch at its first record)
  --gateway-workers N (IM_GATEWAY_WORKERS of the SUT: one per core, or enough for --connections at the file limit)
  --memory-steps N (4: connection counts the memory slope is taken over)  --settle-sec S (5)
  --connect-concurrency N (64 handshakes in flight per generator process)  --connect-timeout-ms MS (30000)
  --topic-prefix P (bench-<timestamp>.: the run's own topics and groups, deleted at the end unless --keep-topics)`;

// fanout after persist and baseline: a stalled fan-out must not hold up the other scenarios' traffic;
// soak after them: its default rate is half of what direct found; faults last: it kills and
// restarts the stack's services under the SUT.
const ALL = ['connections', 'direct', 'persist', 'baseline', 'fanout', 'media', 'peer', 'soak', 'faults'] as const;
type ScenarioName = (typeof ALL)[number];

const flags = parseFlags(process.argv.slice(2));
if (flags.has('help')) {
  console.log(USAGE);
  process.exit(0);
}
const chosen = strFlag(flags, 'scenario', ALL.join(',')).split(',').map((s) => s.trim()) as ScenarioName[];
for (const s of chosen) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s}\n${USAGE}`);

const log = (line: string): void => console.log(line);
const resultsDir = join(ROOT, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const runStamp = stamp();
// --profile: every SUT process writes a V8 CPU profile (open in Chrome DevTools) on exit.
// Every SUT process's whole log (stdout and stderr), beside the results: <run>-log-<process>.txt.
process.env.IM_BENCH_LOG_PREFIX = join(resultsDir, runStamp);
if (flags.has('profile')) process.env.IM_BENCH_PROFILE_DIR = join(resultsDir, `${runStamp}-profiles`);
const command = `npx tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim();
const t0 = Date.now();

const external = flags.get('ws-url');
const edgePort = intFlag(flags, 'edge-port', 18080);
const processes: ManagedProcess[] = [];
const topicPrefix = external ? '' : strFlag(flags, 'topic-prefix', `bench-${runStamp}.`);
/** The media scenario's local store, when it has no S3 (see mediaStore), deleted at the end. */
let mediaDir: string | null = null;
/** The faults scenario runs a second gateway, for the clients of a killed one to move to. */
const secondGateway = chosen.includes('faults') && !external;
/** The SUT's processes and their Prometheus ports. */
const metricsPorts: readonly (readonly [string, number])[] = [['gateway', edgePort], ['pipeline', edgePort + 2], ['persistence', edgePort + 3], ...(secondGateway ? [['gateway-2', edgePort + 4] as const] : [])];
/**
 * The SUT gateway's worker processes: one per core, or as many as the connections scenario
 * needs, each holding at most its file limit of sockets.
 */
const gatewayWorkers = intFlag(
  flags,
  'gateway-workers',
  Math.max(availableParallelism(), chosen.includes('connections') ? Math.ceil(intFlag(flags, 'connections', 10_000) / socketsPerProcess(hardFileLimit())) : 1),
);

async function startSut(): Promise<SutHandle> {
  const privateKeyPem = external ? (process.env.IM_AUTH_PRIVATE_KEY_PEM ?? '') : generatePrivateKeyPem();
  if (external && !privateKeyPem) throw new Error('--ws-url needs IM_AUTH_PRIVATE_KEY_PEM: the signing key of that system, to mint tokens');
  if (!flags.has('no-stack')) ensureStack(log);
  // The stack's MongoDB endpoint (FerretDB on PostgreSQL), in the run's own database.
  const overrides: Record<string, string> = { IM_MONGO_DB: `im_bench_${runStamp.replace(/[^0-9a-zA-Z]/g, '_')}`, IM_TOPIC_PREFIX: topicPrefix, IM_GATEWAY_WORKERS: String(gatewayWorkers) };
  if (chosen.includes('media') && !external) Object.assign(overrides, mediaStore());
  const env = sutEnv({ edgePort, metricsPort: edgePort + 1, env: overrides }, privateKeyPem);
  if (external) {
    const gwPid = intFlag(flags, 'gateway-pid', 0);
    return {
      wsUrl: external,
      httpUrl: external.replace(/^ws/, 'http').replace(/\/ws$/, ''),
      pids: () => new Map([...stackPids(), ...(gwPid ? [['sut-gateway', gwPid] as [string, number]] : [])]),
      gatewayPid: () => gwPid,
      collectGarbage: null,
      persistence: async () => {
        throw new Error('the persist scenario needs a SUT started by the bench (it stops and starts the writer)');
      },
      privateKeyPem,
      env,
      topicPrefix: process.env.IM_TOPIC_PREFIX ?? '',
      metricsUrls: [`${external.replace(/^ws/, 'http').replace(/\/ws$/, '')}/metrics`],
    };
  }
  const entry = sutEntryPoints();
  if (!entry) throw new Error('ops/bin/gateway.ts and ops/bin/processors.ts are needed to start the SUT');
  await assertPortsFree([
    { port: edgePort, what: 'SUT gateway, --edge-port' },
    { port: edgePort + 2, what: 'SUT pipeline metrics, --edge-port + 2' },
    { port: edgePort + 3, what: 'SUT persistence metrics, --edge-port + 3' },
    ...(secondGateway ? [{ port: edgePort + 4, what: 'SUT second gateway (faults), --edge-port + 4' }, { port: edgePort + 5, what: 'SUT second gateway metrics, --edge-port + 5' }] : []),
    ...(chosen.includes('peer') ? [{ port: intFlag(flags, 'peer-port', 18000), what: 'Centrifugo, --peer-port' }] : []),
    ...(chosen.includes('connections') || chosen.includes('peer') ? [{ port: intFlag(flags, 'bare-port', BARE_PORT), what: 'bare uWS process (connections), --bare-port' }] : []),
  ]);
  if (topicPrefix) await createNamespace(topicPrefix);
  const pipelineNames = PROCESSOR_NAMES.filter((n) => n !== 'persistence').join(',');
  // The MongoDB writers in a process of their own, which the persist scenario stops and restarts:
  // the messages' writer and the state mirror (receipt positions, tables), as in production.
  const writerNames = 'persistence,state-mirror';
  // --expose-gc: the connections and soak scenarios collect garbage before a memory sample.
  const gcEnv = { ...env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim() };
  // Off the latency path, as ops/k8s/processors.yaml's storage group: a fetch gathers a batch.
  const writerEnv = { ...gcEnv, IM_PROCESSORS: writerNames, IM_METRICS_PORT: String(edgePort + 3), IM_KAFKA_FETCH_MIN_BYTES: String(intFlag(flags, 'writer-fetch-min-bytes', 65_536)), IM_KAFKA_FETCH_MAX_WAIT_MS: '250' };
  const pipeline = nodeProcess('sut-pipeline', entry.processors, { ...gcEnv, IM_PROCESSORS: pipelineNames, IM_METRICS_PORT: String(edgePort + 2) });
  let persistence: ManagedProcess | null = nodeProcess('sut-persistence', entry.processors, writerEnv);
  let gateway = nodeProcess('sut-gateway', entry.gateway, gcEnv);
  // Its own gateway id and ports; the same key, topics and stack.
  const gateway2Env = { ...gcEnv, IM_GATEWAY_ID: `${env.IM_GATEWAY_ID}-second`, IM_EDGE_PORT: String(edgePort + 4), IM_METRICS_PORT: String(edgePort + 5) };
  let gateway2 = secondGateway ? nodeProcess('sut-gateway-2', entry.gateway, gateway2Env) : null;
  processes.push(pipeline, gateway, persistence, ...(gateway2 ? [gateway2] : []));
  log(`[sut] starting ${gateway2 ? 'two gateways' : 'gateway'}, pipeline processors and the persistence writer`);
  await Promise.all([
    // Every worker starts at once (each loads the code and joins Kafka and Redis): on a busy
    // machine that takes a while per worker.
    waitHttp(`http://127.0.0.1:${edgePort}/readyz`, 120_000 + 60_000 * gatewayWorkers, gateway).then(() => waitGatewayWorkers(`http://127.0.0.1:${edgePort}/metrics`, gatewayWorkers, 120_000 + 60_000 * gatewayWorkers, gateway)),
    waitHttp(`http://127.0.0.1:${edgePort + 2}/readyz`, 120_000, pipeline),
    waitHttp(`http://127.0.0.1:${edgePort + 3}/readyz`, 120_000, persistence),
    ...(gateway2 ? [waitHttp(`http://127.0.0.1:${edgePort + 4}/readyz`, 120_000, gateway2)] : []),
  ]);
  /** A process the faults scenario controls: restart() starts it again with the same settings. */
  const controlled = (name: string, role: SutProcess['role'], port: number, current: () => ManagedProcess | null, respawn: () => ManagedProcess): SutProcess => ({
    name,
    role,
    address: `127.0.0.1:${port}`,
    wsUrl: role === 'gateway' ? `ws://127.0.0.1:${port}/ws` : undefined,
    pid: () => current()?.pid ?? 0,
    alive: () => current()?.alive ?? false,
    async restart() {
      const p = respawn();
      processes.push(p);
      await waitHttp(`http://127.0.0.1:${port}/readyz`, 120_000, p);
      // Ready before traffic: every worker of a gateway instance, not the first one up.
      if (role === 'gateway') await waitGatewayWorkers(`http://127.0.0.1:${port}/metrics`, gatewayWorkers, 120_000 + 60_000 * gatewayWorkers, p);
    },
  });
  const sutProcesses: SutProcess[] = [
    controlled('sut-gateway', 'gateway', edgePort, () => gateway, () => (gateway = nodeProcess('sut-gateway', entry.gateway, gcEnv))),
    ...(gateway2 ? [controlled('sut-gateway-2', 'gateway', edgePort + 4, () => gateway2, () => (gateway2 = nodeProcess('sut-gateway-2', entry.gateway, gateway2Env)))] : []),
    controlled('sut-pipeline', 'processors', edgePort + 2, () => pipeline, () => {
      throw new Error('the pipeline process is stopped and resumed, not restarted');
    }),
    controlled('sut-persistence', 'processors', edgePort + 3, () => persistence, () => (persistence = nodeProcess('sut-persistence', entry.processors, writerEnv))),
  ];
  return {
    wsUrl: `ws://127.0.0.1:${edgePort}/ws`,
    httpUrl: `http://127.0.0.1:${edgePort}`,
    pids: () => {
      const m = stackPids();
      for (const p of [gateway, gateway2, pipeline, persistence]) if (p?.alive) m.set(p.name, p.pid);
      // A gateway instance's workers do its work; the primary only supervises them.
      for (const g of [gateway, gateway2]) if (g?.alive) childPids(g.pid).forEach((pid, i) => m.set(`${g.name}-w${i}`, pid));
      return m;
    },
    gatewayPid: () => gateway.pid,
    collectGarbage: () => {
      // Every process of the SUT: a gateway instance's primary and its workers, the processors.
      for (const p of [gateway, gateway2, pipeline, persistence]) if (p?.alive) for (const pid of [p.pid, ...childPids(p.pid)]) process.kill(pid, 'SIGUSR2');
    },
    async persistence(running) {
      if (!running && persistence) {
        await persistence.stop();
        persistence = null;
      } else if (running && !persistence) {
        persistence = nodeProcess('sut-persistence', entry.processors, writerEnv);
        processes.push(persistence);
        await waitHttp(`http://127.0.0.1:${edgePort + 3}/readyz`, 120_000, persistence);
      }
    },
    privateKeyPem,
    env,
    topicPrefix,
    metricsUrls: metricsPorts.map(([, port]) => `http://127.0.0.1:${port}/metrics`),
    processes: () => sutProcesses,
  };
}

/**
 * The SUT's media settings: its object store is S3 at IM_S3_ENDPOINT, or the stack's SeaweedFS
 * when it runs (ops/stack starts it), else a directory of this run that the gateway serves and
 * the processors read, with one signing key for all of them. The media scenario's senders upload
 * back to back: the per-user slot rate and daily quota are not what it measures.
 */
function mediaStore(): Record<string, string> {
  const lifted = { IM_MEDIA_UPLOAD_SLOTS_PER_WINDOW: '1000000', IM_MEDIA_DAILY_QUOTA_BYTES: String(2 ** 50) };
  const s3 = process.env.IM_S3_ENDPOINT ?? (stackPids().has('s3') ? `http://127.0.0.1:${process.env.IM_S3_PORT ?? '8333'}` : undefined);
  if (s3) return { ...lifted, IM_S3_ENDPOINT: s3 };
  mediaDir = join(tmpdir(), `im-bench-media-${runStamp}`);
  return { ...lifted, IM_MEDIA_DIR: mediaDir, IM_MEDIA_SIGNING_KEY: randomBytes(32).toString('hex') };
}

/** Until one message makes it through the whole pipeline (consumer groups joined, tables loaded). */
async function warmUp(target: Target, ctx: BenchContext): Promise<void> {
  const pool = new WorkerPool(1);
  try {
    const clients = await target.clients(userIds('warm-', 2));
    await connectAll(pool, [clients], { protocol: 'im', url: target.url, sourceAddresses: ctx.sourceAddresses, heartbeatMs: 0 });
    const start = Date.now();
    while (Date.now() - start < 120_000) {
      await pool.all({ op: 'direct' as const, pairs: [[0, 1]], rate: 5, durationMs: 1000, startAt: nowMs(), drainMs: 2000 });
      const s = await collectAll(pool);
      if (s.delivered > 0) {
        log(`[sut] pipeline delivers after ${((Date.now() - start) / 1000).toFixed(1)} s of warm-up (p50 ${s.sendToDelivery.p50} ms)`);
        return;
      }
      // A closed warm-up socket would keep the loop from ever seeing a delivery: say so, stop.
      if (s.open < 2) {
        const closes = (await pool.all({ op: 'status' as const }))[0]?.closes ?? {};
        log(`[sut] warning: warm-up stopped, ${2 - s.open} of its 2 sockets closed (codes ${JSON.stringify(closes)}); the pipeline was not seen delivering`);
        return;
      }
    }
    log('[sut] warning: nothing delivered during 120 s of warm-up');
  } finally {
    await pool.close();
  }
}

/** The SUT's Prometheus metrics after a scenario, for finding the slow stage (git-ignored like results). */
async function snapshotMetrics(scenario: string): Promise<Record<string, string>> {
  const texts: Record<string, string> = {};
  for (const [proc, port] of metricsPorts) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (res.ok) writeFileSync(join(resultsDir, `${runStamp}-${scenario}-metrics-${proc}.prom`), (texts[proc] = await res.text()));
    } catch {
      /* not running */
    }
  }
  return texts;
}

function write(outputs: ScenarioOutput[], results: BenchResult[]): void {
  const summary = summarize(outputs);
  writeFileSync(join(resultsDir, `${runStamp}-report.html`), renderReport(results, summary));
  const md = `# Latest bench results\n\n${results[0] ? `${results[0].startedAt}, commit ${results[0].git.commit.slice(0, 10)}, ${results[0].machine.cpus} cores, node ${results[0].versions.node}\n\n` : ''}Command: \`${command}\`\n\n${summary}\n`;
  writeFileSync(join(resultsDir, 'latest.md'), md);
}

/**
 * Issue 8's targets go into the direct scenario's report once every scenario has run: the
 * pipeline/bare ratio needs the baseline, which runs after it.
 */
function addTargets(ctx: BenchContext, results: BenchResult[]): void {
  const direct = ctx.earlier.get('direct');
  if (!direct || direct.figures.failed) return;
  const baseline = ctx.earlier.get('baseline');
  const inputs: TargetInputs = {
    direct: { steps: direct.figures.steps as RateStep[], persistence: direct.configuration.persistence !== false },
    baseline: baseline && !baseline.figures.failed ? (baseline.figures as unknown as BaselineFigures) : null,
  };
  const table = { title: "issue 8's targets (figures of this invocation)", lines: targetsTable(inputs) };
  direct.tables = [table, ...(direct.tables ?? [])];
  direct.figures.targets = targetRows(inputs);
  const result = results.find((r) => r.scenario === 'direct');
  if (result) {
    result.tables = direct.tables;
    result.figures = direct.figures;
    writeFileSync(join(resultsDir, `${runStamp}-direct.json`), JSON.stringify(result, null, 2));
  }
  log(`\n=== issue 8's targets ===\n${table.lines.join('\n')}`);
}

async function main(): Promise<void> {
  const sut = await startSut();
  const keys = await imKeys(sut.privateKeyPem);
  const progress = new Progress(log);
  const addrCount = intFlag(flags, 'source-addresses', 8);
  const ctx: BenchContext = { flags, log, progress, sourceAddresses: Array.from({ length: addrCount }, (_, i) => `127.0.0.${i + 2}`), earlier: new Map(), sut };
  const im = imTarget(sut, keys);
  await warmUp(im, ctx);
  const outputs: ScenarioOutput[] = [];
  const results: BenchResult[] = [];
  const run: Record<ScenarioName, () => Promise<ScenarioOutput>> = {
    connections: () => connectionsScenario(ctx, im),
    direct: () => directScenario(ctx, im),
    fanout: () => fanoutScenario(ctx, im),
    media: () => mediaScenario(ctx, im),
    persist: () => persistScenario(ctx, im),
    baseline: () => baselineScenario(ctx),
    peer: () => peerScenario(ctx, im),
    // Half an hour when asked for by name; the full run keeps its reduced size.
    soak: () => soakScenario(ctx, im, flags.has('scenario') ? 30 : 5),
    faults: () => faultsScenario(ctx, im),
  };
  const configured = { ...sut.env, IM_AUTH_PRIVATE_KEY_PEM: '(generated Ed25519, not recorded)' };
  for (const name of ALL.filter((n) => chosen.includes(n))) {
    log(`\n=== ${name} ===`);
    const started = new Date();
    const tp = progress.throughput.length;
    const mp = progress.memory.length;
    const meter = new CpuMeter(() => sut.pids());
    const stagesBefore = external ? null : await scrapeStages(sut.metricsUrls);
    meter.begin();
    let out: ScenarioOutput;
    try {
      out = await run[name]();
    } catch (err) {
      log(`[${name}] failed: ${(err as Error).stack ?? String(err)}`);
      out = { scenario: name, configuration: {}, figures: { failed: 1 }, latencyCurves: [], notes: [`failed: ${(err as Error).message}`] };
    }
    if (!external) {
      const metrics = await snapshotMetrics(name);
      // Where the time goes over the scenario: each stage's distance from the gateway's accept
      // (im_stage_seconds of every SUT process); the direct steps have the per-stage increments.
      const stages = name === 'baseline' || !stagesBefore ? [] : stageFigures(stagesSince(readStages(Object.values(metrics)), stagesBefore));
      if (stages.length > 0) out.notes.push(`where the time goes (whole scenario, since the gateway accepted the frame): ${describeStages(stages)}`);
      // The SUT logs at warn (BENCH_SUT_LOG_LEVEL): its last lines tell why a stage stalled; every
      // process's, an empty one too (the whole logs are in <run>-log-<process>.txt).
      for (const p of processes) writeFileSync(join(resultsDir, `${runStamp}-${name}-log-${p.name}.txt`), p.output);
    }
    const rss: Record<string, number> = {};
    for (const [n, pid] of sut.pids()) if (n.startsWith('sut-')) rss[n] = sampleProc(pid)?.rssBytes ?? 0;
    const cpuScenario = meter.end();
    out.figures.cpuScenario = cpuScenario;
    if (meter.restarted.length > 0) out.notes.push(`CPU over the whole scenario not measured for ${meter.restarted.join(', ')} (restarted during it: the time of the process that ended is gone with it), nor outside the named processes`);
    // Per step: percentiles, latency per second, CPU per process (latest.md and the HTML alike).
    out.tables = [...(out.tables ?? []), ...stepTables(out.steps ?? [], cpuScenario)];
    if (!external) {
      // FerretDB's SQLite handler has been seen to stop answering under the writer's load.
      const answers = await mongoAnswers(sut.env.IM_MONGO_URL ?? 'mongodb://127.0.0.1:27017', 5000, sut.env.IM_MONGO_DB);
      out.figures.mongoAnswering = answers ? 1 : 0;
      if (!answers) out.notes.push(`MongoDB (${sut.env.IM_MONGO_URL}, database ${sut.env.IM_MONGO_DB}) did not answer a one-document read within 5 s after this scenario`);
    }
    out.figures.sutRssBytes = rss;
    ctx.earlier.set(name, out);
    outputs.push(out);
    const result: BenchResult = {
      format: 1,
      scenario: name,
      startedAt: started.toISOString(),
      durationSec: (Date.now() - started.getTime()) / 1000,
      command,
      machine: machineInfo(),
      versions: versions(name === 'peer' ? { centrifugo: CENTRIFUGO_VERSION } : {}),
      git: gitInfo(),
      configuration: { scenario: out.configuration, sut: external ? { wsUrl: external } : { ...configured, processes: ['gateway', ...(secondGateway ? ['gateway (second, <id>-second)'] : []), 'processors (all but persistence)', 'processors (persistence)'], requireFriendship: false }, sourceAddresses: ctx.sourceAddresses },
      figures: out.figures,
      series: { throughput: progress.throughput.slice(tp), memory: progress.memory.slice(mp), latency: out.latencyCurves, steps: out.steps ?? [] },
      notes: out.notes,
      tables: out.tables ?? [],
    };
    results.push(result);
    writeFileSync(join(resultsDir, `${runStamp}-${name}.json`), JSON.stringify(result, null, 2));
    write(outputs, results);
  }
  addTargets(ctx, results);
  write(outputs, results);
  log(`\n=== summary (${((Date.now() - t0) / 60_000).toFixed(1)} min) ===\n${summarize(outputs)}`);
  log(`\nresults: bench/results/${runStamp}-*.json, report bench/results/${runStamp}-report.html, bench/results/latest.md`);
}

const stopAll = async (): Promise<void> => {
  await Promise.allSettled(processes.map((p) => p.stop()));
  if (mediaDir) rmSync(mediaDir, { recursive: true, force: true });
  if (topicPrefix && !flags.has('keep-topics')) {
    const dropped = await dropNamespace(topicPrefix).catch((err: unknown) => ({ error: String(err) }));
    log(`[cleanup] run namespace ${topicPrefix}: ${JSON.stringify(dropped)}`);
  }
};
// Interrupted or terminated (Ctrl-C, a script's kill): the SUT and the workers stop with it.
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
process.once('SIGTERM', () => void stopAll().then(() => process.exit(143)));
main().then(
  async () => {
    await stopAll();
    process.exit(0);
  },
  async (err: unknown) => {
    console.error(err instanceof PortsTaken ? `bench: ${err.message}` : err);
    await stopAll();
    process.exit(1);
  },
);
