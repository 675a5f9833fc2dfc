/**
 * Property-based fuzzing of every parser that reads user files (issue 17): each generated input either
 * parses or throws the project's named error (InputError, naming the file for file-level readers);
 * never a RangeError/TypeError, a hang or a crash. Generators and targets: ./targets.ts. CI runs 500-2000
 * cases per parser (about 15,000 in all, ~20 s on one core); `npm run fuzz -- --runs N`
 * runs more. The seed is fixed so a failure reproduces; fast-check shrinks it to a small input.
 */
import { rmSync } from "node:fs";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { judge, makeTargets, scratchRoot } from "./targets.js";

/** Cases per parser in CI. */
const RUNS: Record<string, number> = {
  safetensors: 2000,
  png: 2000,
  jpeg: 2000,
  "image file": 1000,
  csv: 2000,
  idx: 1000,
  "config.json": 2000,
  "scheduler config": 2000,
  checkpoint: 500,
};
/** The model folder target writes four files per case. */
const DEFAULT_RUNS = 500;
/** A single case slower than this counts as a hang. */
const SLOW_MS = 1000;

const targets = await makeTargets();
afterAll(() => {
  const root = scratchRoot();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("fuzz: every input parses or throws the named InputError", () => {
  for (const target of targets) {
    it(target.name, async () => {
      await fc.assert(
        fc.asyncProperty(target.input, async (input) => {
          const t0 = performance.now();
          let error: unknown;
          try {
            await target.run(input);
          } catch (e) {
            error = e;
          }
          const elapsed = performance.now() - t0;
          const crash = judge(target, input, error) ?? (elapsed > SLOW_MS ? `slow: ${elapsed} ms` : null);
          expect(crash).toBeNull();
        }),
        { numRuns: RUNS[target.name] ?? DEFAULT_RUNS, seed: 17 },
      );
    });
  }
});
