import { defineWorkspace } from 'vitest/config';

// Each package is a vitest project; `@vlreward/source` makes imports of other
// workspace packages resolve to their TypeScript sources, so tests need no build.
export default defineWorkspace(['packages/*/vitest.config.ts', 'scripts/release/vitest.config.ts']);
