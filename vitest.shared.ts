import { defineConfig } from 'vitest/config';

export function packageConfig(name: string) {
  return defineConfig({
    resolve: { conditions: ['@vlreward/source'] },
    ssr: { resolve: { conditions: ['@vlreward/source'] } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
    },
  });
}
