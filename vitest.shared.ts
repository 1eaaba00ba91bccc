import { defineConfig } from 'vitest/config';

/**
 * One vitest configuration for every package: tests in `test/`, and a JSON report per
 * package that scripts/test.mjs adds up into the closing `N passed, N failed` line.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
