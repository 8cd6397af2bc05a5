import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadConfig } from '../core/config.js';
import { PROCESSOR_NAMES, PROCESSORS, type ProcessorRegistration } from '../topologies/im-topology.js';

/**
 * The container manifests cannot run on this machine (no container engine), so they are held
 * to the code by reading them: every file parses, every IM_* variable they set is one the code
 * reads, each process's environment passes the real config validation, the gateway terminates
 * gracefully, and images, commands, ports and mounts agree with each other.
 */
const here = import.meta.dirname;
const root = join(here, '..');
const read = (p: string): string => readFileSync(join(here, p), 'utf8');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function yamlFiles(dir: string): string[] {
  return readdirSync(join(here, dir), { withFileTypes: true }).flatMap((e) => {
    const p = posix.join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}

function docs(file: string): Obj[] {
  const parsed = parseAllDocuments(read(file), { merge: true });
  const list = Array.isArray(parsed) ? parsed : [parsed];
  for (const d of list) expect(d.errors.map((e) => e.message), file).toEqual([]);
  return list.map((d) => d.toJS({ maxAliasCount: 100 }) as Obj).filter((d) => d !== null);
}

/** IM_* names the code reads: the config module, the logger, and the process entry points. */
function namesReadByCode(): Set<string> {
  const files = [join(root, 'core/config.ts'), join(root, 'core/logger.ts')];
  const bin = join(root, 'ops/bin');
  for (const f of readdirSync(bin)) if (f.endsWith('.ts') && !f.endsWith('.test.ts')) files.push(join(bin, f));
  const names = new Set<string>();
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/\bIM_[A-Z0-9_]+/g)) names.add(m[0]);
  return names;
}

// --- compose ---------------------------------------------------------------------------------

const compose = docs('compose/compose.yml')[0]!;
const services = compose.services as Record<string, Obj>;
/** Compose services that run this project's image (built from ops/docker/Dockerfile). */
const imServices = Object.entries(services).filter(([, s]) => s.build?.dockerfile === 'ops/docker/Dockerfile');
const composeEnv = (s: Obj): Record<string, string> => Object.fromEntries(Object.entries((s.environment ?? {}) as Obj).map(([k, v]) => [k, String(v)]));

// --- k8s ---------------------------------------------------------------------------------------

const k8sFiles = yamlFiles('k8s').filter((f) => !f.endsWith('kustomization.yaml'));
const k8s = k8sFiles.flatMap((f) => docs(f).map((d) => ({ file: f, doc: d })));
const configMap = k8s.find((d) => d.doc.kind === 'ConfigMap' && d.doc.metadata.name === 'im-config')!.doc;
const workloads = k8s.filter((d) => d.doc.kind === 'Deployment' || d.doc.kind === 'Job').map((d) => d.doc);
const containersOf = (w: Obj): Obj[] => w.spec.template.spec.containers;
const deployment = (name: string): Obj => workloads.find((w) => w.kind === 'Deployment' && w.metadata.name === name)!;

/** A container's environment as the process sees it: configmaps, then env (valueFrom stubbed). */
function k8sEnv(c: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const cm = k8s.find((d) => d.doc.kind === 'ConfigMap' && d.doc.metadata.name === from.configMapRef?.name);
    expect(cm, `configmap ${from.configMapRef?.name}`).toBeDefined();
    Object.assign(env, cm!.doc.data);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.fieldRef) env[e.name] = 'pod-name-7f9c';
    else if (e.valueFrom?.secretKeyRef?.optional) continue; // the Secret may be absent: unset
    else if (e.valueFrom?.secretKeyRef) env[e.name] = '-----BEGIN PRIVATE KEY-----\nstub\n-----END PRIVATE KEY-----';
    else throw new Error(`unsupported env source for ${e.name}`);
  }
  return env;
}

/** Whether an entry script, or a module of ops/bin it imports, installs a SIGTERM handler. */
function handlesSigterm(script: string): boolean {
  const text = readFileSync(join(root, script), 'utf8');
  const sources = [text, ...[...text.matchAll(/from '\.\/([a-z-]+)\.js'/g)].map((m) => readFileSync(join(root, 'ops/bin', `${m[1]}.ts`), 'utf8'))];
  // process.on('SIGTERM', ...) itself, or ops/bin/shutdown.ts's handler over its default signals.
  return sources.some((t) => /process\.(on|once)\('SIGTERM'/.test(t) || /signals \?\? \['SIGTERM'/.test(t));
}

/** Sinks ops/platform.ts runs beside the topology (IM_PROCESSORS names them too), by Deployment group. */
function platformSinks(): string[] {
  const platform = readFileSync(join(root, 'ops/platform.ts'), 'utf8');
  return [...platform.matchAll(/processors\.includes\('([a-z0-9-]+)'\)/g)].map((m) => m[1]!);
}

/** What each processors Deployment must run: the registered processors of its group (topologies/im-topology.ts), and the platform's sinks (storage). */
function registeredByGroup(): Map<string, string[]> {
  const byGroup = new Map<string, string[]>();
  for (const name of PROCESSOR_NAMES) for (const g of (PROCESSORS[name] as ProcessorRegistration).groups) byGroup.set(g, [...(byGroup.get(g) ?? []), name]);
  byGroup.set('storage', [...(byGroup.get('storage') ?? []), ...platformSinks()]);
  return byGroup;
}
const SCRIPT = /^ops\/bin\/(gateway|processors|provision|run)\.ts$/;

describe('every manifest parses', () => {
  it('as YAML, in ops/compose, ops/k8s, ops/prometheus and ops/grafana/provisioning', () => {
    const files = [...yamlFiles('compose'), ...yamlFiles('k8s'), ...yamlFiles('prometheus'), ...yamlFiles('grafana/provisioning')];
    expect(files.length).toBeGreaterThanOrEqual(12);
    for (const f of files) expect(docs(f).length, f).toBeGreaterThan(0);
  });

  it('with apiVersion, kind and the im namespace on every Kubernetes object', () => {
    for (const { file, doc } of k8s) {
      expect(typeof doc.apiVersion, file).toBe('string');
      expect(typeof doc.kind, file).toBe('string');
      if (doc.kind !== 'Namespace') expect(doc.metadata.namespace, `${file} ${doc.kind}/${doc.metadata.name}`).toBe('im');
    }
    const kustomization = docs('k8s/kustomization.yaml')[0]!;
    expect([...(kustomization.resources as string[])].sort()).toEqual(k8sFiles.map((f) => f.slice('k8s/'.length)).sort());
  });
});

describe('configuration', () => {
  const known = namesReadByCode();

  it('sets only IM_* variables the code reads', () => {
    const set: string[] = [];
    for (const [name, s] of imServices) for (const k of Object.keys(composeEnv(s))) if (k.startsWith('IM_')) set.push(`compose ${name}: ${k}`);
    for (const k of Object.keys(configMap.data)) set.push(`k8s configmap: ${k}`);
    for (const w of workloads) for (const c of containersOf(w)) for (const e of c.env ?? []) set.push(`k8s ${w.metadata.name}: ${e.name}`);
    expect(set.length).toBeGreaterThan(20);
    const unknown = set.filter((s) => s.split(': ')[1]!.startsWith('IM_') && !known.has(s.split(': ')[1]!));
    expect(unknown).toEqual([]);
  });

  it('passes the config validation in every compose service', () => {
    expect(imServices.map(([n]) => n).sort()).toEqual(['gateway', 'processors', 'provision']);
    for (const [name, s] of imServices) {
      const env = composeEnv(s);
      expect(env.IM_ENGINE, name).toBe('kafka');
      expect(() => loadConfig(env), name).not.toThrow();
    }
  });

  it('passes the production config validation in every Kubernetes container', () => {
    expect(configMap.data.IM_MODE).toBe('production');
    for (const w of workloads)
      for (const c of containersOf(w)) {
        const config = loadConfig(k8sEnv(c));
        expect(config.mode, w.metadata.name).toBe('production');
        expect(config.engine, w.metadata.name).toBe('kafka');
      }
  });

  it('gives each gateway pod its own id and all gateways one signing key', () => {
    const gw = containersOf(deployment('im-gateway'))[0]!;
    const id = (gw.env as Obj[]).find((e) => e.name === 'IM_GATEWAY_ID')!;
    expect(id.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    const key = (gw.env as Obj[]).find((e) => e.name === 'IM_AUTH_PRIVATE_KEY_PEM')!;
    expect(key.valueFrom.secretKeyRef.name).toBe('im-auth');
    // A JWKS URL next to the key would make the gateway verify through the network.
    expect(k8sEnv(gw).IM_AUTH_JWKS_URL).toBeUndefined();
  });
});

describe('gateway', () => {
  const d = deployment('im-gateway');
  const c = containersOf(d)[0]!;
  const port = Number(k8sEnv(c).IM_EDGE_PORT);

  it('is ready on /readyz and alive on /healthz, on the port it listens on', () => {
    const portByName = Object.fromEntries((c.ports as Obj[]).map((p) => [p.name, p.containerPort]));
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    for (const probe of [c.readinessProbe, c.livenessProbe]) expect(portByName[probe.httpGet.port] ?? probe.httpGet.port).toBe(port);
    expect(k8sEnv(c).IM_EDGE_HOST).toBe('0.0.0.0');
    expect(d.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(port));
  });

  it('terminates gracefully: preStop delay, then SIGTERM within the grace period', () => {
    const sleep = c.lifecycle.preStop.exec.command as string[];
    expect(sleep[0]).toBe('sleep');
    const grace = d.spec.template.spec.terminationGracePeriodSeconds as number;
    // The gateway's own stop (reconnect frames, flush, presence cleanup) needs time after preStop.
    expect(grace).toBeGreaterThanOrEqual(Number(sleep[1]) + 20);
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    // The process the container runs handles the signal itself.
    expect(handlesSigterm(c.args[0])).toBe(true);
    expect(services.gateway!.stop_grace_period).toBeDefined();
  });

  it('is exposed by its Service on the listening port, keeping client addresses', () => {
    const svc = k8s.find((x) => x.doc.kind === 'Service' && x.doc.metadata.name === 'im-gateway')!.doc;
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    expect(svc.spec.ports[0].targetPort).toBe('http');
    expect((c.ports as Obj[]).find((p) => p.name === 'http')!.containerPort).toBe(port);
    expect(svc.spec.externalTrafficPolicy).toBe('Local');
    expect(services.gateway!.ports).toContain(`${composeEnv(services.gateway!).IM_EDGE_PORT}:${composeEnv(services.gateway!).IM_EDGE_PORT}`);
  });
});

describe('processors', () => {
  const groups = workloads.filter((w) => w.kind === 'Deployment' && containersOf(w)[0]!.args[0] === 'ops/bin/processors.ts');

  it('run in each Deployment the processors registered for its group, every registered processor somewhere', () => {
    const expected = registeredByGroup();
    expect(platformSinks()).toEqual(['state-mirror']);
    expect(groups.map((w) => w.metadata.labels['im/processor-group']).sort()).toEqual([...expected.keys()].sort());
    for (const w of groups) {
      const group = w.metadata.labels['im/processor-group'] as string;
      // A processor added to PROCESSORS fails here until its group's Deployment names it.
      expect(k8sEnv(containersOf(w)[0]!).IM_PROCESSORS!.split(',').sort(), `IM_PROCESSORS of ${w.metadata.name}`).toEqual([...expected.get(group)!].sort());
      expect(w.metadata.name).toBe(`im-processors-${group}`);
    }
    const assigned = groups.flatMap((w) => k8sEnv(containersOf(w)[0]!).IM_PROCESSORS!.split(','));
    expect([...new Set(assigned)].sort()).toEqual([...PROCESSOR_NAMES, ...platformSinks()].sort());
  });

  it('are each scalable by replicas, and compose runs them all in one process', () => {
    for (const w of groups) {
      expect(w.spec.replicas, w.metadata.name).toBeGreaterThanOrEqual(1);
      expect(w.spec.selector.matchLabels).toEqual(Object.fromEntries(Object.entries(w.spec.template.metadata.labels).filter(([k]) => k in w.spec.selector.matchLabels)));
    }
    expect(composeEnv(services.processors!).IM_PROCESSORS).toBe('all');
  });

  it('serve /metrics, /readyz and /healthz on IM_METRICS_PORT', () => {
    for (const w of groups) {
      const c = containersOf(w)[0]!;
      const port = Number(k8sEnv(c).IM_METRICS_PORT);
      expect((c.ports as Obj[]).find((p) => p.name === 'metrics')!.containerPort, w.metadata.name).toBe(port);
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      for (const probe of [c.readinessProbe, c.livenessProbe]) expect(probe.httpGet.port).toBe('metrics');
      expect(w.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(port));
      expect(w.spec.template.metadata.annotations['prometheus.io/path']).toBe('/metrics');
      expect(handlesSigterm(c.args[0]), w.metadata.name).toBe(true);
      expect(w.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(20);
    }
  });
});

describe('images and commands', () => {
  it('use one image, whose entry point runs an ops/bin script given as the command', () => {
    const images = new Set<string>();
    for (const w of workloads)
      for (const c of containersOf(w)) {
        images.add(String(c.image).split(':')[0]!);
        expect(c.args, w.metadata.name).toHaveLength(1);
        expect(c.args[0], w.metadata.name).toMatch(SCRIPT);
      }
    for (const [name, s] of imServices) {
      images.add(String(s.image).split(':')[0]!);
      expect(s.command, name).toHaveLength(1);
      expect(s.command[0], name).toMatch(SCRIPT);
    }
    expect([...images]).toEqual(['im-platform']);
    const kustomization = docs('k8s/kustomization.yaml')[0]!;
    expect(kustomization.images[0].name).toBe('im-platform');
    const dockerfile = read('docker/Dockerfile');
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "--import", "tsx"\]$/m);
  });

  it('name scripts that exist, in an image that holds every source folder', () => {
    const scripts = new Set<string>();
    for (const w of workloads) for (const c of containersOf(w)) scripts.add(c.args[0]);
    for (const [, s] of imServices) scripts.add(s.command[0]);
    expect([...scripts].sort()).toEqual(['ops/bin/gateway.ts', 'ops/bin/processors.ts', 'ops/bin/provision.ts']);
    for (const s of scripts) expect(existsSync(join(root, s)), s).toBe(true);
    const dockerfile = read('docker/Dockerfile');
    const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { include: string[] };
    // bench and e2e drive the platform from outside; the image carries only what runs in it.
    const runtimeDirs = tsconfig.include.filter((d) => !d.includes('.') && d !== 'bench' && d !== 'e2e' && existsSync(join(root, d)));
    for (const dir of runtimeDirs) expect(dockerfile, dir).toContain(`COPY ${dir} ./${dir}`);
    expect(services.provision!.build.context).toBe('../..');
    expect(existsSync(resolve(here, 'compose', services.provision!.build.context, services.provision!.build.dockerfile))).toBe(true);
  });
});

describe('monitoring wiring in compose', () => {
  it('points Prometheus at the gateway and processors services and their ports', () => {
    const cmd = services.prometheus!.command as string[];
    const cfgFile = cmd.find((a) => a.startsWith('--config.file='))!.split('=')[1]!;
    expect(services.prometheus!.volumes).toContain('../prometheus:/etc/prometheus:ro');
    const cfg = parseYaml(read(`prometheus/${posix.basename(cfgFile)}`)) as Obj;
    const targets = Object.fromEntries((cfg.scrape_configs as Obj[]).map((s) => [s.job_name, s.static_configs[0].targets[0]]));
    expect(targets.gateway).toBe(`gateway:${composeEnv(services.gateway!).IM_EDGE_PORT}`);
    expect(targets.processors).toBe(`processors:${composeEnv(services.processors!).IM_METRICS_PORT}`);
  });

  it('gives Grafana the provisioning and the dashboards where the provider looks', () => {
    const provider = (docs('grafana/provisioning/dashboards/im.yml')[0]!.providers as Obj[])[0]!;
    const volumes = services.grafana!.volumes as string[];
    expect(volumes).toContain('../grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(volumes).toContain(`../grafana/dashboards:${provider.options.path}:ro`);
    const datasource = read('grafana/provisioning/datasources/prometheus.yml');
    expect(datasource).toContain('url: ${PROMETHEUS_URL}');
    expect(services.grafana!.environment.PROMETHEUS_URL).toBe('http://prometheus:9090');
  });

  it('scrapes Kubernetes pods with job set to the component the dashboards select', () => {
    const cfg = parseYaml(read('prometheus/prometheus.k8s.yml')) as Obj;
    const relabels = cfg.scrape_configs[0].relabel_configs as Obj[];
    const job = relabels.find((r) => r.target_label === 'job')!;
    expect(job.source_labels).toEqual(['__meta_kubernetes_pod_label_app_kubernetes_io_component']);
    const components = new Set(workloads.filter((w) => w.kind === 'Deployment').map((w) => w.spec.template.metadata.labels['app.kubernetes.io/component']));
    expect([...components].sort()).toEqual(['gateway', 'processors']);
  });
});
