import { defineConfig } from 'vitest/config';

// Goldens never write themselves: a missing golden fails like a changed one, in every run, not only
// when CI=true. `vitest -u` (or UPDATE_SNAPSHOT=all) rewrites them; test/support/golden.ts also
// fails on left-over golden files.
process.env.UPDATE_SNAPSHOT ??= 'none';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env: { CDK_DISABLE_VERSION_CHECK: '1', METADATA_SERVER_DETECTION: 'none', CDK_VALIDATION: 'false' },
  },
});
