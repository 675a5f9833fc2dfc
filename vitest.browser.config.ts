import { defineConfig } from "vitest/config";

/** The browser test (npm run test:browser): the built playground in headless Chromium. */
export default defineConfig({
  test: {
    include: ["test/web/**/*.browser.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
  },
});
