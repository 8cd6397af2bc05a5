/** Command-line flags of bench/run.ts: `--name value`, `--name=value`, bare `--flag` is "true". */
export type Flags = Map<string, string>;

export function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) flags.set(a.slice(2), argv[++i]!);
    else flags.set(a.slice(2), 'true');
  }
  return flags;
}

export function intFlag(flags: Flags, name: string, fallback: number): number {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${v}`);
  return Math.floor(n);
}

export function listFlag(flags: Flags, name: string, fallback: number[]): number[] {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  return v.split(',').map((s) => {
    const n = Number(s.trim().replace(/_/g, '').replace(/k$/i, '000'));
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: ${s} is not a positive number`);
    return n;
  });
}

export function strFlag(flags: Flags, name: string, fallback: string): string {
  return flags.get(name) ?? fallback;
}
