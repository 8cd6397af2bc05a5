/**
 * Structured JSON logs, one object per line on stderr. `correlationId` fields set through
 * `child()` follow a message across stages, so one grep finds its whole path.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

let globalLevel: LogLevel = (process.env.IM_LOG_LEVEL as LogLevel | undefined) ?? 'info';
export function setLogLevel(level: LogLevel): void {
  globalLevel = level;
}

/** Takes one serialised log line (no newline). */
export type LogSink = (line: string) => void;
let sink: LogSink = (line) => void process.stderr.write(line + '\n');
/** Where every logger's lines go; stderr unless replaced (the test suite's setup, core/vitest-setup.ts). */
export function setLogSink(next: LogSink): void {
  sink = next;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function createLogger(component: string, base: Record<string, unknown> = {}): Logger {
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (rank[level] < rank[globalLevel]) return;
    const line: Record<string, unknown> = { ts: new Date().toISOString(), level, component, msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) line[k] = serialise(v);
    sink(JSON.stringify(line));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger(component, { ...base, ...fields }),
  };
}

/** The Kafka header carrying a message's correlation id from the gateway through every stage. */
export const CORRELATION_HEADER = 'im-correlation-id';
/**
 * When the gateway accepted the frame a record descends from (ms since the epoch), carried in
 * every stage's headers beside the correlation id, so each stage can say how far it is from it.
 */
export const ACCEPTED_AT_HEADER = 'im-accepted-at';
