import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'bench/results/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // No retries: a test passes the first time or it is wrong (names unique per attempt,
    // waits on the condition it means, services ready before traffic).
    // Info lines of every started platform drown what matters; IM_LOG_LEVEL=info brings them back.
    env: { IM_LOG_LEVEL: process.env.IM_LOG_LEVEL ?? 'warn' },
    pool: 'forks',
    maxWorkers: 2,
  },
});
