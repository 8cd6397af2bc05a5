import { setLogSink } from './logger.js';

/**
 * The suite's log lines go through the console, which vitest captures per test: with
 * `silent: 'passed-only'` (vitest.config.ts) a passing test's lines, often errors it provoked on
 * purpose (a poison record dead-lettered, a client closed under a retry), stay out of the output,
 * and a failing test's are printed with its failure. Written straight to stderr, as the platform's
 * processes do, they reached the output of every run.
 */
setLogSink((line) => console.error(line));
