import type { Logger } from './logger.js';

/** One line a `recordingLogger` kept. */
export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields?: Record<string, unknown>;
}

/**
 * A logger that keeps its lines instead of printing them: for tests that provoke errors on
 * purpose, which assert the lines they expect and keep them out of the output.
 */
export function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: LogLine['level']) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}
