/**
 * One error base for the whole platform. `code` is stable and documented (clients and
 * operators match on it), `retriable` tells the retry helper whether trying again can help.
 */
export class PlatformError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PlatformError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A fault of configuration, found at start-up: the process must not run with it. */
export class ConfigError extends PlatformError {
  constructor(problems: string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Input that can never succeed, however often it is retried (bad bytes, schema mismatch). */
export class PoisonError extends PlatformError {
  constructor(message: string, cause?: unknown) {
    super('POISON_RECORD', message, { retriable: false, cause });
    this.name = 'PoisonError';
  }
}

/**
 * A listening port another process already holds. Every listener of the platform listens
 * exclusively (uWebSockets.js would otherwise share the port through SO_REUSEPORT and the
 * kernel would split the connections between the two processes without a word).
 */
export class PortInUseError extends PlatformError {
  readonly setting: string;
  readonly address: string;

  constructor(setting: string, address: string) {
    super('PORT_IN_USE', `${address} is already in use by another process; stop it or set ${setting} to a free port`);
    this.name = 'PortInUseError';
    this.setting = setting;
    this.address = address;
  }
}

/** True when an error may go away on retry; programming errors (TypeError...) never do. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof PlatformError) return err.retriable;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return false;
  if (err && typeof err === 'object' && 'retriable' in err) return Boolean((err as { retriable: unknown }).retriable);
  return true;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
