import { describe, expect, it } from "vitest";
import { kthNeighbourSqRadii, nearestTwo } from "../../src/eval/knn.js";
import { manifoldMetrics } from "../../src/eval/manifold.js";
import { fromRows, matrix } from "../../src/eval/matrix.js";
import { gaussianSample, identityL } from "./helpers.js";

describe("k-NN radii", () => {
  it("are the k-th nearest other point's squared distance", () => {
    const x = fromRows([[0], [1], [3], [7]]);
    expect([...kthNeighbourSqRadii(x, 1)]).toEqual([1, 1, 4, 16]);
    expect([...kthNeighbourSqRadii(x, 2)]).toEqual([9, 4, 9, 36]);
    expect(() => kthNeighbourSqRadii(x, 4)).toThrow(/4 points, expected more than k = 4/);
  });

  it("nearestTwo finds the two closest reference rows", () => {
    const r = nearestTwo(fromRows([[2.2], [-5]]), fromRows([[0], [1], [3], [7]]));
    expect([...r.index]).toEqual([2, 1, 0, 1]);
    expect(r.sqDist[0]).toBeCloseTo(0.64, 14);
    expect(r.sqDist[1]).toBeCloseTo(1.44, 14);
  });
});

describe("precision / recall / density / coverage", () => {
  const d = 4;
  const real = gaussianSample(300, new Array(d).fill(0), identityL(d), 1);

  it("identical sets: precision = recall = coverage = 1", () => {
    const r = manifoldMetrics(real, real);
    expect(r.precision).toBe(1);
    expect(r.recall).toBe(1);
    expect(r.coverage).toBe(1);
    expect(r.density).toBeGreaterThan(0.8);
    expect([r.kPR, r.kDC]).toEqual([3, 5]);
  });

  it("disjoint sets: all four are 0", () => {
    const far = gaussianSample(300, new Array(d).fill(100), identityL(d), 2);
    const r = manifoldMetrics(real, far);
    expect([r.precision, r.recall, r.density, r.coverage]).toEqual([0, 0, 0, 0]);
  });

  it("a collapsed generator (all samples near one real point) has high precision, low recall and coverage", () => {
    const one = Array.from(real.data.subarray(0, d));
    const noise = gaussianSample(300, one, { data: identityL(d).data.map((v) => v * 0.01), n: d }, 3);
    const r = manifoldMetrics(real, noise);
    expect(r.precision).toBeGreaterThan(0.9);
    expect(r.recall).toBeLessThan(0.05);
    expect(r.coverage).toBeLessThan(0.05);
  });

  it("same distribution, independent samples: all four near 1 (density ~ 1 by construction)", () => {
    const other = gaussianSample(300, new Array(d).fill(0), identityL(d), 4);
    const r = manifoldMetrics(real, other);
    for (const v of [r.precision, r.recall, r.coverage]) expect(v).toBeGreaterThan(0.8);
    expect(r.density).toBeGreaterThan(0.75);
    expect(r.density).toBeLessThan(1.25);
  });

  it("rejects feature sets of different dimension", () => {
    expect(() => manifoldMetrics(real, matrix(new Float64Array(10), 5, 2))).toThrow(/differ \(4 vs 2\)/);
  });
});
