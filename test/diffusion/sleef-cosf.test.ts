import { describe, expect, it } from "vitest";
import { sleefCosf } from "../../src/diffusion/sleef-cosf.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 spacing (ulp) at |x|. */
function ulp32(x: number): number {
  f32[0] = Math.abs(x);
  const here = f32[0];
  u32[0] += 1;
  return f32[0] - here;
}

/** float32 arguments spread over (-125, 125), including the reduction's quadrant boundaries. */
function sweep(): number[] {
  const xs: number[] = [];
  for (let i = -20000; i <= 20000; i++) xs.push(Math.fround(i * 0.0062));
  for (let k = -39; k <= 39; k++)
    for (const e of [-1e-6, 0, 1e-6]) xs.push(Math.fround((k * Math.PI) / 2 + e));
  return xs;
}

describe("sleefCosf (SLEEF xcosf_u1, FMA build)", () => {
  const xs = sweep();

  it("returns float32 values within SLEEF's 1-ulp bound of the exact cosine", () => {
    let worst = 0;
    for (const x of xs) {
      const got = sleefCosf(x);
      expect(Math.fround(got)).toBe(got);
      worst = Math.max(worst, Math.abs(got - Math.cos(x)) / ulp32(Math.cos(x)));
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it("is even, exact at 0, and mostly but not always the correctly rounded float32 cosine", () => {
    expect(sleefCosf(0)).toBe(1);
    let differ = 0;
    for (const x of xs) {
      expect(sleefCosf(-x)).toBe(sleefCosf(x));
      if (sleefCosf(x) !== Math.fround(Math.cos(x))) differ++;
    }
    expect(differ).toBeGreaterThan(0);
    expect(differ).toBeLessThan(xs.length / 10);
  });

  it("rejects arguments outside the modelled Cody-Waite range, naming the value", () => {
    expect(() => sleefCosf(125)).toThrow(/argument 125 is outside the modelled range \|d\| < 125/);
    expect(() => sleefCosf(Number.NaN)).toThrow(/argument NaN/);
  });
});
