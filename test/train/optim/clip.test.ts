import { describe, expect, it } from "vitest";
import * as T from "../../../src/tensor/index.js";
import { clipGradNorm, globalNorm } from "../../../src/train/optim/clip.js";

const grads = (scale: number) => ({
  a: T.tensor([3 * scale, 0], [2]),
  b: [T.tensor([0, 4 * scale, 0, 0], [2, 2])],
});

describe("clipGradNorm", () => {
  it("takes the norm over all leaves together", () => {
    expect(globalNorm(grads(1)).item()).toBeCloseTo(5, 6);
  });

  it("leaves gradients below the threshold unchanged", () => {
    const g = grads(0.1); // norm 0.5
    const { grads: clipped, norm } = clipGradNorm(g, 1);
    expect(norm.item()).toBeCloseTo(0.5, 6);
    expect(clipped.a.toArray()).toEqual(g.a.toArray());
    expect(clipped.b[0].toArray()).toEqual(g.b[0].toArray());
  });

  it("scales gradients above the threshold to max_norm", () => {
    const { grads: clipped, norm } = clipGradNorm(grads(2), 1.5); // norm 10
    expect(norm.item()).toBeCloseTo(10, 5);
    expect(globalNorm(clipped).item()).toBeCloseTo(1.5, 5);
    // direction kept: each entry scaled by max_norm / (norm + 1e-6)
    expect(clipped.a.toArray()[0]).toBeCloseTo((6 * 1.5) / (10 + 1e-6), 6);
  });

  it("rejects a non-positive max norm", () => {
    expect(() => clipGradNorm(grads(1), 0)).toThrow(/maxNorm is 0/);
  });
});
