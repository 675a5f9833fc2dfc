import { describe, expect, it } from "vitest";
import {
  checkArrays,
  compareArrays,
  describeMismatch,
  parseNumberArray,
  parseTolerance,
} from "../../src/golden/compare.js";

const tol = { rtol: 0.1, atol: 0.01 };

describe("compareArrays", () => {
  it("accepts |got - want| <= atol + rtol * |want| and rejects just beyond", () => {
    expect(compareArrays([1.1], [1], tol).ok).toBe(true); // 0.1 <= 0.11
    expect(compareArrays([1.12], [1], tol).ok).toBe(false); // 0.12 > 0.11
    expect(compareArrays([-1.105], [-1], tol).ok).toBe(true);
    expect(compareArrays([0.01], [0], tol).ok).toBe(true);
    expect(compareArrays([0.02], [0], tol).ok).toBe(false);
  });

  it("reports the worst element with got, want and the excess", () => {
    const r = compareArrays([1, 2.5, 3.2], [1, 2, 3], tol);
    expect(r).toMatchObject({ ok: false, worstIndex: 1, got: 2.5, want: 2 });
    expect(r.excess).toBeCloseTo(0.5 - 0.21, 12);
    expect(describeMismatch("x", r, tol)).toMatch(/^x\[1\]: got 2.5 want 2 /);
  });

  it("reports a length or shape mismatch instead of comparing", () => {
    expect(compareArrays([1, 2], [1, 2, 3], tol)).toMatchObject({
      ok: false,
      shapeMismatch: "length 2 vs expected 3",
    });
    const r = compareArrays([1, 2, 3, 4], [1, 2, 3, 4], tol, { got: [4, 1], want: [2, 2] });
    expect(r.ok).toBe(false);
    expect(describeMismatch("w", r, tol)).toBe("w: shape [4, 1] vs expected [2, 2]");
  });

  it("treats NaN as equal only to NaN, and equal infinities as equal", () => {
    expect(compareArrays([Number.NaN, Infinity], [Number.NaN, Infinity], tol).ok).toBe(true);
    expect(compareArrays([Number.NaN], [1], tol).ok).toBe(false);
    expect(compareArrays([1], [Number.NaN], tol).ok).toBe(false);
    expect(compareArrays([Infinity], [-Infinity], tol).ok).toBe(false);
  });

  it("passes empty arrays", () => {
    expect(compareArrays([], [], tol).ok).toBe(true);
  });
});

describe("checkArrays / parsers", () => {
  it("names every array out of tolerance", () => {
    const r = checkArrays(
      [
        { name: "a", got: [1], want: [1] },
        { name: "b", got: [5], want: [1] },
        { name: "c", got: [1, 2], want: [1] },
      ],
      tol,
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^b\[0\]: got 5 want 1 .*; c: length 2 vs expected 1$/);
    expect(checkArrays([{ name: "a", got: [1], want: [1] }], tol)).toEqual({ ok: true });
  });

  it("parseTolerance and parseNumberArray name the field", () => {
    expect(parseTolerance({ rtol: 1e-5, atol: 1e-7, extra: 1 })).toEqual({ rtol: 1e-5, atol: 1e-7 });
    expect(() => parseTolerance({ rtol: 1e-5 })).toThrow(
      /^tolerance \{"rtol":0.00001\} is not an object \{ rtol, atol \}/,
    );
    expect(() => parseNumberArray("x", "betas")).toThrow('betas "x" is not a flat array of numbers');
    expect(() => parseNumberArray([[1]], "betas")).toThrow(
      "betas [array of 1] is not a flat array of numbers",
    );
  });
});
