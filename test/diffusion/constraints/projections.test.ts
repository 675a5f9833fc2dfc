/**
 * Projections onto convex sets (box, A x = b, fixed sum / mean): property tests with fast-check —
 * the result satisfies the constraint, projecting twice changes nothing, and it is the nearest point
 * of the set (no feasible point is closer; the variational inequality <x - Px, y - Px> <= 0) — plus
 * the errors for infeasible / rank-deficient systems and their use in the sampling loop.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { box } from "../../../src/diffusion/constraints/box.js";
import { linearEquality } from "../../../src/diffusion/constraints/linear.js";
import { lastSteps, onSample, onX0, sequence } from "../../../src/diffusion/constraints/project.js";
import { fixedMean, fixedSum } from "../../../src/diffusion/constraints/sum.js";
import { createScheduler } from "../../../src/diffusion/registry.js";
import { sample } from "../../../src/diffusion/sample.js";
import * as T from "../../../src/tensor/index.js";
import { optimalModel } from "../gaussian.js";

const N = 3;
const D = 6;
const vec = (n: number) =>
  fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: n, maxLength: n });
const batch = (values: number[]) => T.tensor(Float32Array.from(values), [N, D]);
const dist2 = (a: ArrayLike<number>, b: ArrayLike<number>, from: number) => {
  let s = 0;
  for (let k = from; k < from + D; k++) s += (a[k]! - b[k]!) ** 2;
  return s;
};

/** Checks feasibility, idempotence and nearest-point for projection p, with feasible points p(y). */
function checkProjection(p: (x: T.Tensor) => T.Tensor, feasible: (v: Float32Array, i: number) => void) {
  fc.assert(
    fc.property(vec(N * D), vec(N * D), (xs, ys) => {
      const x = batch(xs);
      const px = p(x).values() as Float32Array;
      for (let i = 0; i < N; i++) feasible(px, i);
      const ppx = p(T.tensor(px, [N, D])).values();
      for (let k = 0; k < px.length; k++) expect(ppx[k]).toBeCloseTo(px[k]!, 4);
      const y = p(batch(ys)).values(); // a feasible point
      const xv = x.values();
      for (let i = 0; i < N; i++) {
        const o = i * D;
        expect(dist2(xv, px, o)).toBeLessThanOrEqual(dist2(xv, y, o) + 1e-3);
        let inner = 0;
        for (let k = o; k < o + D; k++) inner += (xv[k]! - px[k]!) * (y[k]! - px[k]!);
        expect(inner).toBeLessThanOrEqual(1e-3);
      }
    }),
    { numRuns: 60 },
  );
}

describe("box", () => {
  it("clamps into [lo, hi]: feasible, idempotent, nearest", () => {
    checkProjection(box(-1, 0.5), (v, i) => {
      for (let k = i * D; k < (i + 1) * D; k++) {
        expect(v[k]).toBeGreaterThanOrEqual(-1);
        expect(v[k]).toBeLessThanOrEqual(0.5);
      }
    });
  });
  it("refuses an empty box", () => {
    expect(() => box(1, 0)).toThrow(/lo <= hi/);
  });
});

describe("A x = b", () => {
  const A = [
    [1, 2, 0, 0, -1, 0],
    [0, 1, 1, 1, 0, 0],
    [1, 0, 0, 0, 0, 3],
  ];
  const b = [0.5, -1, 2];
  it("the least-squares projection is feasible, idempotent and nearest", () => {
    checkProjection(linearEquality(A, b), (v, i) => {
      for (const [r, row] of A.entries()) {
        let s = 0;
        for (let k = 0; k < D; k++) s += row[k]! * v[i * D + k]!;
        expect(s).toBeCloseTo(b[r]!, 3);
      }
    });
  });
  it("takes one b per sample", () => {
    const bs = [1, 0, 0, 2, 0, 0, 3, 0, 0];
    const p = linearEquality(A, bs)(T.zeros([3, D])).values();
    for (let i = 0; i < 3; i++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += A[0]![k]! * p[i * D + k]!;
      expect(s).toBeCloseTo(i + 1, 4);
    }
  });
  it("names the dependent row: infeasible when b disagrees, redundant otherwise", () => {
    const dep = [A[0]!, A[1]!, A[0]!.map((v, k) => 2 * v - A[1]![k]!)];
    expect(() => linearEquality(dep, [1, 1, 5])).toThrow(
      /infeasible: row 2 of A is a combination of rows 0\.\.1, which gives b\[2\] = 1\.00000.*but b\[2\] = 5/,
    );
    expect(() => linearEquality(dep, [1, 1, 1])).toThrow(/rank-deficient \(row 2/);
    expect(() => linearEquality([[0, 0, 0, 0, 0, 0]], [1])).toThrow(/infeasible: row 0/);
  });
  it("refuses samples of another size than A's columns, and a ragged A", () => {
    expect(() => linearEquality(A, b)(T.zeros([2, 5]))).toThrow(/5 values each.*6 columns/);
    expect(() => linearEquality([[1, 2], [1]], [0, 0])).toThrow(/row 1 has 1 entries/);
  });
});

describe("fixed sum and mean", () => {
  it("fixedSum: feasible, idempotent, nearest; equals A = 1^T", () => {
    checkProjection(fixedSum(2.5), (v, i) => {
      let s = 0;
      for (let k = i * D; k < (i + 1) * D; k++) s += v[k]!;
      expect(s).toBeCloseTo(2.5, 3);
    });
    fc.assert(
      fc.property(vec(N * D), (xs) => {
        const a = fixedSum(2.5)(batch(xs)).values();
        const c = linearEquality([[1, 1, 1, 1, 1, 1]], [2.5])(batch(xs)).values();
        for (let k = 0; k < a.length; k++) expect(a[k]).toBeCloseTo(c[k]!, 4);
      }),
      { numRuns: 30 },
    );
  });
  it("fixedMean sets each image's mean", () => {
    const x = T.tensor(
      Float32Array.from({ length: 2 * 1 * 4 * 4 }, (_, i) => Math.sin(i)),
      [2, 1, 4, 4],
    );
    const v = Array.from(fixedMean([-0.5, 0.25])(x).values());
    const mean = (i: number) => v.slice(i * 16, (i + 1) * 16).reduce((a, b) => a + b, 0) / 16;
    expect(mean(0)).toBeCloseTo(-0.5, 5);
    expect(mean(1)).toBeCloseTo(0.25, 5);
  });
});

describe("projections in the sampling loop", () => {
  const data = { mu: 0.3, s: 0.5 };
  it("onX0 with a fixed mean gives DDIM samples of that mean; a user projection composes", async () => {
    const s = createScheduler("DDIMScheduler", { clip_sample: false });
    const user = (x: T.Tensor) => T.mul(x, 1); // any function of the Projection type
    const out = await sample(s, optimalModel(s, data), {
      numInferenceSteps: 10,
      shape: [2, 8],
      seed: 1,
      x0Transform: onX0(sequence(user, fixedMean(-0.2))),
    });
    const v = Array.from(out.values());
    for (let i = 0; i < 2; i++) {
      expect(v.slice(i * 8, (i + 1) * 8).reduce((a, b) => a + b, 0) / 8).toBeCloseTo(-0.2, 3);
    }
  });
  it("onSample on the last step puts Euler's samples in the box exactly", async () => {
    const s = createScheduler("EulerDiscreteScheduler", {});
    const seen: number[] = [];
    const out = await sample(s, optimalModel(s, data), {
      numInferenceSteps: 6,
      shape: [2, 8],
      seed: 1,
      hook: onSample(box(0.2, 0.3), (info) => {
        seen.push(info.index);
        return lastSteps(1)(info);
      }),
    });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    for (const v of out.values()) {
      expect(v).toBeGreaterThanOrEqual(0.2 - 1e-7);
      expect(v).toBeLessThanOrEqual(0.3 + 1e-7);
    }
  });
});
