import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cpus } from 'node:os';

/** CPU and memory of processes from /proc, and the kernel's socket accounting. */
export interface ProcSample {
  /** utime + stime in seconds. */
  cpuSec: number;
  rssBytes: number;
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime and stime (fields 14, 15) of /proc/<pid>/stat; the command name may hold spaces. */
export function parseStatCpuTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): field n is rest[n - 3].
  return Number(rest[11]) + Number(rest[12]);
}

export function parseStatusRss(status: string): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

export function sampleProc(pid: number): ProcSample | null {
  try {
    const cpu = parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / clockTicks();
    return { cpuSec: cpu, rssBytes: parseStatusRss(readFileSync(`/proc/${pid}/status`, 'utf8')) };
  } catch {
    return null;
  }
}

/** /proc/net/sockstat as { "TCP.inuse": n, "TCP.mem": pages, ... }. */
export function parseSockstat(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [proto, rest] = line.split(':');
    if (!proto || !rest) continue;
    const parts = rest.trim().split(/\s+/);
    for (let i = 0; i + 1 < parts.length; i += 2) out[`${proto}.${parts[i]}`] = Number(parts[i + 1]);
  }
  return out;
}

export function readSockstat(): Record<string, number> {
  return parseSockstat(readFileSync('/proc/net/sockstat', 'utf8'));
}

/** Busy and total jiffies of all CPUs from the first line of /proc/stat. */
export function parseProcStat(text: string): { busy: number; total: number } {
  const f = (text.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

function machineJiffies(): { busy: number; total: number } {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Cores busy machine-wide over the next `ms` (0 when /proc/stat cannot be read). */
export async function machineBusyCores(ms: number): Promise<number> {
  const a = machineJiffies();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineJiffies();
  return b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * cpus().length : 0;
}

/**
 * Waits until the machine is quiet, below `cores` busy over a second twice in a row (work
 * left over from a step's setup done); resolves with the seconds it took, or null after
 * `timeoutSec` with the machine still busy.
 */
export async function untilQuiet(cores: number, timeoutSec: number): Promise<number | null> {
  const t0 = Date.now();
  let quiet = 0;
  while (Date.now() - t0 < timeoutSec * 1000) {
    quiet = (await machineBusyCores(1000)) < cores ? quiet + 1 : 0;
    if (quiet >= 2) return Math.round((Date.now() - t0) / 100) / 10;
  }
  return null;
}

/**
 * Named processes whose CPU time is accounted over an interval, plus `machine:busy` (cores busy
 * machine-wide) and `machine:other` (busy cores outside the named processes: other work on a
 * shared machine), so a step can tell its own load from a neighbour's.
 */
export class CpuMeter {
  private readonly start = new Map<string, { pid: number; cpuSec: number }>();
  private t0 = 0;
  private m0 = { busy: 0, total: 0 };
  /**
   * Names whose process was replaced during the last interval (a fault restarted it): the time of
   * the one that ended is gone with it, so neither it nor `machine:other` is reported. Before,
   * such a name read the new process's time less the old one's, and a faults run showed the
   * broker at -0.43 of a core.
   */
  restarted: string[] = [];
  constructor(private readonly pids: () => Map<string, number>) {}

  /** Each pid once, under its first name: the fanout target's server is the SUT gateway again. */
  private named(): [string, number][] {
    const seen = new Set<number>();
    return [...this.pids()].filter(([, pid]) => !seen.has(pid) && Boolean(seen.add(pid)));
  }

  begin(): void {
    this.start.clear();
    this.restarted = [];
    this.t0 = performance.now();
    this.m0 = machineJiffies();
    for (const [name, pid] of this.named()) {
      const s = sampleProc(pid);
      if (s) this.start.set(name, { pid, cpuSec: s.cpuSec });
    }
  }

  /** Cores used by each process since begin (1.0 = one core busy all the time). */
  end(): Record<string, number> {
    const wall = (performance.now() - this.t0) / 1000;
    const out: Record<string, number> = {};
    this.restarted = [];
    for (const [name, pid] of this.named()) {
      const s = sampleProc(pid);
      const s0 = this.start.get(name);
      if (s0 && s0.pid !== pid) this.restarted.push(name);
      else if (s && s0 && wall > 0) out[name] = Math.round(((s.cpuSec - s0.cpuSec) / wall) * 1000) / 1000;
    }
    const m1 = machineJiffies();
    const dt = m1.total - this.m0.total;
    if (dt > 0) {
      const cores = cpus().length;
      const busy = ((m1.busy - this.m0.busy) / dt) * cores;
      const named = Object.values(out).reduce((a, b) => a + b, 0);
      out['machine:busy'] = Math.round(busy * 1000) / 1000;
      // Busy cores less the named ones: outside them only when every named one was measured whole.
      if (this.restarted.length === 0) out['machine:other'] = Math.round(Math.max(0, busy - named) * 1000) / 1000;
    }
    return out;
  }
}

/**
 * Children of a process that run its executable (a gateway instance's workers, not helpers such
 * as tsx's esbuild service), from /proc/<pid>/task/<tid>/children.
 */
export function childPids(pid: number): number[] {
  const exe = (p: number): string | null => {
    try {
      return readlinkSync(`/proc/${p}/exe`);
    } catch {
      return null;
    }
  };
  const own = exe(pid);
  return allChildren(pid).filter((c) => own !== null && exe(c) === own);
}

function allChildren(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
      try {
        return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/** One slab cache of /proc/slabinfo: objects in use and the pages its slabs hold, in bytes. */
export interface SlabCache {
  activeObjects: number;
  objectSize: number;
  bytes: number;
}

/**
 * /proc/slabinfo (version 2.x, readable by root) by cache name. `bytes` counts whole slabs
 * (num_slabs x pagesperslab x page size): what the kernel holds for the cache, never less than
 * its objects.
 */
export function parseSlabinfo(text: string, pageSize = 4096): Map<string, SlabCache> {
  const out = new Map<string, SlabCache>();
  for (const line of text.split('\n')) {
    if (line.startsWith('slabinfo') || line.startsWith('#')) continue;
    const [head, , slabdata] = line.split(' : ');
    const f = head?.trim().split(/\s+/) ?? [];
    const s = slabdata?.trim().split(/\s+/) ?? [];
    if (f.length < 6 || s.length < 3 || s[0] !== 'slabdata') continue;
    const [name, active, , objsize, , pagesPerSlab] = f as [string, string, string, string, string, string];
    out.set(name, { activeObjects: Number(active), objectSize: Number(objsize), bytes: Number(s[2]) * Number(pagesPerSlab) * pageSize });
  }
  return out;
}

export function readSlabinfo(): Map<string, SlabCache> | null {
  try {
    return parseSlabinfo(readFileSync('/proc/slabinfo', 'utf8'));
  } catch {
    return null;
  }
}
