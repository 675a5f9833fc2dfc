import { describe, expect, it } from "vitest";
import { fma32, rounder, torchLinspace } from "../../src/diffusion/float32.js";
import { arange, linspace, roundHalfEven } from "../../src/diffusion/linspace.js";

describe("fma32", () => {
  it("rounds a*b + c once, where rounding the double sum to float32 would tie the wrong way", () => {
    // a*b = 2^-24 - 2^-70; exact sum 1 + 2^-23 + 2^-24 - 2^-70 lies just below the float32 midpoint
    // between 1 + 2^-23 and 1 + 2^-22, but its double rounding is the midpoint (which ties to even).
    const a = 2 ** -24 * (1 + 2 ** -23);
    const b = 1 - 2 ** -23;
    const c = 1 + 2 ** -23;
    expect(Math.fround(a * b + c)).toBe(1 + 2 ** -22);
    expect(fma32(a, b, c)).toBe(1 + 2 ** -23);
  });

  it("equals Math.fround(a*b + c) when the double sum is exact", () => {
    expect(fma32(Math.fround(0.1), 3, Math.fround(0.2))).toBe(
      Math.fround(Math.fround(0.1) * 3 + Math.fround(0.2)),
    );
  });
});

describe("torchLinspace", () => {
  it("float32: exact endpoints, float32 values, monotone; float64: NumPy linspace", () => {
    for (const n of [1, 2, 7, 16, 17, 1000, 1010]) {
      const x = torchLinspace(0.0001, 0.02, n, "float32");
      expect(x[0]).toBe(Math.fround(0.0001));
      if (n > 1) expect(x[n - 1]).toBe(Math.fround(0.02));
      expect(x.every((v) => Math.fround(v) === v)).toBe(true);
      for (let i = 1; i < n; i++) expect(x[i]).toBeGreaterThan(x[i - 1]);
      expect(torchLinspace(-6, 6, n, "float64")).toEqual(linspace(-6, 6, n));
    }
  });

  it("rounder: fround for float32, identity for float64", () => {
    expect(rounder("float32")(0.1)).toBe(Math.fround(0.1));
    expect(rounder("float64")(0.1)).toBe(0.1);
  });
});

describe("NumPy helpers", () => {
  it("roundHalfEven rounds exact halves to even, like np.round", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6].map(roundHalfEven)).toEqual([
      0, 2, 2, -0, -2, -2, 2, 3,
    ]);
  });

  it("linspace ends exactly at stop; arange has ceil((stop - start) / step) points", () => {
    expect(Array.from(linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(linspace(3, 9, 1))).toEqual([3]);
    expect(Array.from(arange(10, 0, -2.5))).toEqual([10, 7.5, 5, 2.5]);
    expect(arange(0, 1, -1).length).toBe(0);
  });
});
