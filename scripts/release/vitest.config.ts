import { defineConfig } from 'vitest/config';

// Release tooling tests. The Verdaccio publish + fresh-install test is slow (network
// install) and runs only with VLREWARD_RELEASE_TEST=1 (.ci/run sets it).
export default defineConfig({
  test: {
    name: 'release',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
