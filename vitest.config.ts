import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'bench/results/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites share one 2-core machine with a Kafka broker, a registry and FerretDB;
    // a timing failure gets one more try, and a test that fails twice fails the run. Retries
    // are visible in the output, so a test that needs them is a test to look at.
    retry: 1,
    pool: 'forks',
    maxWorkers: 2,
  },
});
