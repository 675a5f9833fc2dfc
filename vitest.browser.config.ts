import { defineConfig } from "vitest/config";

/**
 * The browser test (npm run test:browser): the built playground in headless Chromium. The test also
 * runs the page's library (web/lib, which imports `diffuse/core`) in Node, from the sources.
 */
export default defineConfig({
  resolve: { conditions: ["diffuse-source"] },
  ssr: { resolve: { conditions: ["diffuse-source"] } },
  test: {
    include: ["test/web/**/*.browser.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
  },
});
