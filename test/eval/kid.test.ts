import { describe, expect, it } from "vitest";
import { kid, polynomialKernel } from "../../src/eval/kid.js";
import { fromRows, matrix } from "../../src/eval/matrix.js";
import { gaussianSample, identityL } from "./helpers.js";

describe("KID", () => {
  it("the kernel is (x.y/d + 1)^3", () => {
    const a = fromRows([
      [1, 2],
      [0, -1],
    ]);
    const b = fromRows([[3, 1]]);
    const k = polynomialKernel(a, b);
    expect(k[0]).toBeCloseTo((5 / 2 + 1) ** 3, 14);
    expect(k[1]).toBeCloseTo((-1 / 2 + 1) ** 3, 14);
  });

  it("is unbiased on equal distributions: the mean over independent repeats is 0 within 3 standard errors", () => {
    const [d, n, repeats] = [8, 200, 30];
    const means: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const x = gaussianSample(n, new Array(d).fill(0), identityL(d), 100 + 2 * r);
      const y = gaussianSample(n, new Array(d).fill(0), identityL(d), 101 + 2 * r);
      means.push(kid(x, y, { subsets: 10, subsetSize: 100, seed: r }).mean);
    }
    const m = means.reduce((a, b) => a + b, 0) / repeats;
    const sd = Math.sqrt(means.reduce((a, b) => a + (b - m) ** 2, 0) / (repeats - 1));
    const se = sd / Math.sqrt(repeats);
    expect(Math.abs(m)).toBeLessThan(3 * se);
    // and some single estimates are negative, as an unbiased estimator of 0 must allow
    expect(means.some((v) => v < 0)).toBe(true);
  });

  it("is clearly positive for shifted distributions and grows with the shift", () => {
    const d = 8;
    const x = gaussianSample(300, new Array(d).fill(0), identityL(d), 1);
    const near = gaussianSample(300, new Array(d).fill(0.5), identityL(d), 2);
    const far = gaussianSample(300, new Array(d).fill(1.5), identityL(d), 3);
    const kNear = kid(x, near, { subsets: 20, subsetSize: 200 });
    const kFar = kid(x, far, { subsets: 20, subsetSize: 200 });
    expect(kNear.mean).toBeGreaterThan(5 * kNear.stderr);
    expect(kFar.mean).toBeGreaterThan(kNear.mean);
    expect(kNear.subsetSize).toBe(200);
    // 300 points hold one disjoint subset of 200: the standard error is the subsets' spread itself
    expect(kNear.independentSubsets).toBe(1);
    expect(kNear.stderr).toBe(kNear.std);
    const small = kid(x, near, { subsets: 20, subsetSize: 50 });
    expect(small.independentSubsets).toBe(6);
    expect(small.stderr).toBeCloseTo(small.std / Math.sqrt(6), 14);
  });

  it("a pool smaller than the set keeps the estimate (same seed, same result)", () => {
    const d = 4;
    const x = gaussianSample(400, new Array(d).fill(0), identityL(d), 5);
    const y = gaussianSample(400, new Array(d).fill(1), identityL(d), 6);
    const a = kid(x, y, { subsets: 30, subsetSize: 100, maxPool: 150, seed: 3 });
    const b = kid(x, y, { subsets: 30, subsetSize: 100, maxPool: 150, seed: 3 });
    const full = kid(x, y, { subsets: 30, subsetSize: 100, seed: 3 });
    expect(a.mean).toBe(b.mean);
    expect(Math.abs(a.mean - full.mean)).toBeLessThan(
      4 * Math.hypot(a.stderr, full.stderr) + 0.05 * full.mean,
    );
  });

  it("rejects bad options, naming them", () => {
    const x = matrix(new Float64Array(8), 4, 2);
    expect(() => kid(x, x, { subsets: 0 })).toThrow(/kid: subsets is 0, expected a positive integer/);
    expect(() => kid(x, matrix(new Float64Array(2), 1, 2))).toThrow(
      /second set: has 1 rows, expected at least 2/,
    );
  });
});
