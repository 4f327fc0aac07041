import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default'],
    // The suite starts dozens of local runtimes; pre-warming every function's environment in each
    // (~9 s of CPU per start) would only slow it. Tests about warm environments set the option.
    env: { OFFLOAD_WARM_ENVIRONMENTS: process.env.OFFLOAD_WARM_ENVIRONMENTS ?? '0' },
  },
});
