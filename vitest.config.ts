import { defineConfig } from 'vitest/config';

// Unit, fixture, LSP-over-stdio and browser suites. The editor journey runs separately (npm run test:e2e).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
