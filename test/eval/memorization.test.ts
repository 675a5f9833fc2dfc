import { describe, expect, it } from "vitest";
import { selectRows } from "../../src/eval/matrix.js";
import { memorization } from "../../src/eval/memorization.js";
import { gaussianSample, identityL } from "./helpers.js";

describe("memorisation check", () => {
  const d = 16;
  const train = gaussianSample(500, new Array(d).fill(0), identityL(d), 1);

  it("copies of training rows have ratio 0 and are all flagged, pointing at their source", () => {
    const copies = selectRows(train, [5, 17, 123]);
    const r = memorization(copies, train);
    expect(r.fraction).toBe(1);
    expect([...r.ratios]).toEqual([0, 0, 0]);
    expect([...r.nearestIndex]).toEqual([5, 17, 123]);
    expect(r.threshold).toBeCloseTo(1 / 3, 15);
  });

  it("fresh samples of the same distribution are not flagged", () => {
    const fresh = gaussianSample(100, new Array(d).fill(0), identityL(d), 2);
    const r = memorization(fresh, train);
    expect(r.fraction).toBe(0);
    expect(r.medianRatio).toBeGreaterThan(0.8);
  });

  it("rejects a threshold outside (0, 1]", () => {
    expect(() => memorization(train, train, 2)).toThrow(/threshold is 2, expected a number in \(0, 1\]/);
  });
});
