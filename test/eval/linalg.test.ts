import { describe, expect, it } from "vitest";
import { identity, matmul, type Square, sqrtPsd, symmetricEigen } from "../../src/eval/linalg.js";
import { randomOrthogonal, withSpectrum } from "./helpers.js";

function maxAbsDiff(a: Square, b: Square): number {
  return Math.max(...a.data.map((v, i) => Math.abs(v - b.data[i]!)));
}

describe("symmetric eigendecomposition (Jacobi)", () => {
  it("recovers a known spectrum and reconstructs the matrix", () => {
    const n = 12;
    const spectrum = Array.from({ length: n }, (_, i) => (i - 3) * 0.75); // includes negatives and 0
    const a = withSpectrum(randomOrthogonal(n, 1), spectrum);
    const e = symmetricEigen(a);
    e.values.forEach((v, i) => {
      expect(v).toBeCloseTo(spectrum[i]!, 12);
    });
    expect(maxAbsDiff(withSpectrum(e.vectors, [...e.values]), a)).toBeLessThan(1e-12);
    // eigenvectors are orthonormal
    const vtv = matmul({ data: transpose(e.vectors), n }, e.vectors);
    expect(maxAbsDiff(vtv, identity(n))).toBeLessThan(1e-12);
  });
});

function transpose(a: Square): Float64Array {
  const n = a.n;
  return Float64Array.from({ length: n * n }, (_, k) => a.data[(k % n) * n + Math.floor(k / n)]!);
}

describe("sqrtPsd", () => {
  it("the square root of B^2 is B for a known SPD B", () => {
    const b = withSpectrum(randomOrthogonal(8, 2), [0.1, 0.5, 1, 2, 3, 5, 8, 13]);
    const root = sqrtPsd(matmul(b, b));
    expect(maxAbsDiff(root, b)).toBeLessThan(1e-11);
  });

  it("a hand-checked 2x2: sqrt([[5, 4], [4, 5]]) = [[2, 1], [1, 2]]", () => {
    const root = sqrtPsd({ data: Float64Array.from([5, 4, 4, 5]), n: 2 });
    [2, 1, 1, 2].forEach((v, i) => {
      expect(root.data[i]).toBeCloseTo(v, 13);
    });
  });

  it("clamps the rounding-negative eigenvalues of a singular PSD matrix to 0", () => {
    const a = withSpectrum(randomOrthogonal(6, 3), [0, 0, 0, 1, 4, 9]);
    const root = sqrtPsd(a);
    expect(root.data.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(matmul(root, root), a)).toBeLessThan(1e-7);
  });
});
