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
    // The pinned AWS SDK (the S3 object store) warns each process once that its releases after
    // January 2027 need Node 22: news for whoever upgrades it, not a test result.
    env: { IM_LOG_LEVEL: process.env.IM_LOG_LEVEL ?? 'warn', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // A test's log lines are shown only when it fails (core/vitest-setup.ts).
    setupFiles: ['core/vitest-setup.ts'],
    silent: 'passed-only',
    pool: 'forks',
    maxWorkers: 2,
  },
});
