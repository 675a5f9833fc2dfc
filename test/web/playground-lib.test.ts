/**
 * The playground's library code (web/lib) in Node: the watching scheduler changes no sample and sees
 * every step; two moons are deterministic and the live trainer learns them; drawn point sets are
 * checked (too few, odd, a flat stroke). The page itself is tested in Chromium by page.browser.ts
 * (npm run test:browser).
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";

const repo = path.resolve(import.meta.dirname, "../..");
const tsx = path.join(repo, "node_modules", ".bin", "tsx");

it("watches sampling without changing it, and trains two moons", () => {
  const out = execFileSync(tsx, ["--conditions=diffuse-source", path.join(repo, "test/web/lib-check.ts")], {
    cwd: repo,
    encoding: "utf8",
  });
  const r = JSON.parse(out.trim().split("\n").at(-1)!);
  for (const [sampler, w] of Object.entries(r.watcher) as [
    string,
    { steps: number; maxDiff: number; lastX0MinusFinal: number | null },
  ][]) {
    expect(w.steps, sampler).toBe(6);
    expect(w.maxDiff, sampler).toBe(0);
    // At the last step the predicted x0 is (nearly) the final sample.
    if (w.lastX0MinusFinal !== null) expect(w.lastX0MinusFinal, sampler).toBeLessThan(0.05);
  }
  expect(r.watcher["dpmsolver++"].lastX0MinusFinal).not.toBeNull();
  expect(r.moonsDeterministic).toBe(true);
  expect(r.swissUnconditional).toBe(true);
  expect(r.lossLast).toBeLessThan(0.8 * r.lossFirst);
  expect(r.distanceAfter).toBeLessThan(0.5 * r.distanceBefore);
  expect(r.drawnTooFew).toBe("drawn points: 2 drawn, expected at least 16: draw more");
  expect(r.drawnOdd).toBe("drawn points: 41 coordinates, expected (x, y) pairs");
  // A flat stroke: its y deviation (0) is floored at 1% of x's, so training and sampling stay finite.
  expect(r.flatStd[1]).toBeGreaterThan(0);
  expect(r.flatStd[1]).toBeCloseTo(0.01 * r.flatStd[0], 6);
  expect(r.flatFinite).toBe(true);
});
