import { join } from "node:path";
import { describe, expect, it } from "vitest";
import "../../src/golden/kinds/optimizer.js";
import { runGolden } from "../../src/golden/run.js";

const GOLDEN = join(import.meta.dirname, "../fixtures/golden");

describe("golden optimizer cases (PyTorch AdamW + clipping + cosine warm-up + EMA)", () => {
  for (const mode of ["eager", "compiled"] as const) {
    it(`match in ${mode} mode`, async () => {
      const lines: string[] = [];
      const summary = await runGolden(GOLDEN, { mode, kinds: ["optimizer"], log: (l) => lines.push(l) });
      expect(summary.passed, lines.join("\n")).toBeGreaterThan(0);
      expect(summary.failed, lines.join("\n")).toBe(0);
    });
  }
});
