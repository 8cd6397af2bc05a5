/**
 * CpuMeter's names as the reader's processes: the stack by role, each SUT process, the load
 * generator's workers summed, and the busy cores outside all of them (a neighbour on a shared
 * machine, or a process the bench does not name, such as FerretDB's PostgreSQL).
 */
export interface ProcessCores {
  name: string;
  cores: number;
}

const STACK_ROLES: Record<string, string> = { kafka: 'broker (Kafka)', registry: 'registry', mongo: 'database (FerretDB)', redis: 'Redis', s3: 'object store (SeaweedFS)' };
export const LOAD_GENERATOR = 'load generator';
export const OUTSIDE = 'other (outside bench and SUT)';

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** In a fixed order (stack, SUT, others, generator, outside), so a colour means one process in every bar. */
export function cpuByProcess(cpu: Readonly<Record<string, number>>): ProcessCores[] {
  const stack: ProcessCores[] = [];
  const sut: ProcessCores[] = [];
  const others: ProcessCores[] = [];
  let generator: number | null = null;
  for (const [name, cores] of Object.entries(cpu)) {
    if (name.startsWith('machine:')) continue;
    if (name.startsWith('bench-worker')) generator = (generator ?? 0) + cores;
    else if (STACK_ROLES[name]) stack.push({ name: STACK_ROLES[name]!, cores });
    else if (name.startsWith('sut-')) sut.push({ name, cores });
    else others.push({ name, cores });
  }
  const order = Object.values(STACK_ROLES);
  stack.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  sut.sort((a, b) => a.name.localeCompare(b.name));
  const out = [...stack, ...sut, ...others];
  if (generator !== null) out.push({ name: LOAD_GENERATOR, cores: round3(generator) });
  if (cpu['machine:other'] !== undefined) out.push({ name: OUTSIDE, cores: cpu['machine:other'] });
  return out;
}
