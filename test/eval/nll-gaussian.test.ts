/**
 * The Gaussian building blocks of the likelihood bounds: erfc and the normal CDF against published
 * values (Abramowitz & Stegun, Table 7.1; z_{0.975}), the discretized decoder's bin probabilities
 * (they sum to 1 over the 256 bins), the KL divergence, and the mean / confidence interval summary.
 */
import { describe, expect, it } from "vitest";
import {
  approxStandardNormalCdf,
  DECODER_BINS,
  discretizedGaussianLogLikelihood,
  erfc,
  gaussianLogDensity,
  normalKl,
  standardNormalCdf,
} from "../../src/eval/nll-gaussian.js";
import { meanCi, Z95 } from "../../src/eval/nll-summary.js";

describe("erfc and the standard normal CDF", () => {
  it("match published values to 1e-13 relative, on both sides of the series / continued-fraction switch", () => {
    const table: [number, number][] = [
      [0, 1],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [2, 0.004677734981047266],
      [3, 2.209049699858544e-5],
      [-1, 1.8427007929497148],
    ];
    for (const [z, want] of table) expect(Math.abs(erfc(z) / want - 1)).toBeLessThan(1e-13);
    // continuity at z = 2 where the method changes
    expect(Math.abs(erfc(2 - 1e-9) / erfc(2 + 1e-9) - 1)).toBeLessThan(1e-7);
    expect(erfc(Number.NaN)).toBeNaN();
  });

  it("Phi(z_0.975) = 0.975, Phi is symmetric, and the lower tail does not cancel", () => {
    expect(standardNormalCdf(Z95)).toBeCloseTo(0.975, 14);
    for (const x of [0.1, 1.3, 4]) expect(standardNormalCdf(x) + standardNormalCdf(-x)).toBeCloseTo(1, 14);
    // Phi(-10) = erfc(10 / sqrt 2) / 2 = 7.6198530241605e-24 (far below 1 - Phi's float64 resolution)
    expect(Math.abs(standardNormalCdf(-10) / 7.619853024160527e-24 - 1)).toBeLessThan(1e-12);
  });

  it("the tanh approximation is within 2e-4 of the exact CDF", () => {
    for (let x = -6; x <= 6; x += 0.01) {
      expect(Math.abs(approxStandardNormalCdf(x) - standardNormalCdf(x))).toBeLessThan(2e-4);
    }
  });
});

describe("Gaussian KL and log density", () => {
  it("KL(N(0, 1) || N(1, 4)) = log 2 + (1 + 1) / 8 - 1/2, and KL(p || p) = 0", () => {
    expect(normalKl(0, 0, 1, Math.log(4))).toBeCloseTo(Math.log(2) + 2 / 8 - 0.5, 14);
    expect(normalKl(0.3, -1, 0.3, -1)).toBe(0);
    expect(normalKl(0, 0, 0.5, 0.2)).toBeGreaterThan(0);
  });

  it("log N(x; m, v) is the standard formula", () => {
    expect(gaussianLogDensity(1, 0, 0)).toBeCloseTo(-0.5 * Math.log(2 * Math.PI) - 0.5, 14);
    expect(gaussianLogDensity(0.5, 0.5, Math.log(0.01))).toBeCloseTo(-0.5 * Math.log(2 * Math.PI * 0.01), 12);
  });
});

describe("the discretized Gaussian decoder", () => {
  const grid = Array.from({ length: DECODER_BINS }, (_, k) => (2 * k) / 255 - 1);
  const cases = [
    [0, 0],
    [0.3, Math.log(0.05)],
    [-0.97, Math.log(0.01)],
    [1.4, Math.log(0.3)],
    [0.2, Math.log(0.001)],
    [-0.5, 1],
  ];

  for (const cdf of ["exact", "tanh"] as const) {
    it(`(${cdf}) the probabilities of the 256 bins sum to 1`, () => {
      for (const [mean, logScale] of cases) {
        const total = grid.reduce(
          (s, x) => s + Math.exp(discretizedGaussianLogLikelihood(x, mean!, logScale!, cdf)),
          0,
        );
        // bins below the 1e-12 floor each add at most 1e-12
        expect(Math.abs(total - 1)).toBeLessThan(1e-9);
      }
    });
  }

  it("a wide Gaussian gives an interior bin about density x bin width", () => {
    const x = grid[140]!;
    const p = Math.exp(discretizedGaussianLogLikelihood(x, 0.1, Math.log(0.5)));
    const density = Math.exp(gaussianLogDensity(x, 0.1, Math.log(0.25)));
    expect(p / (density * (2 / 255))).toBeCloseTo(1, 4);
  });

  it("exact and tanh agree to the approximation's accuracy, and the edge bins take the tails", () => {
    const ll = (x: number, c: "exact" | "tanh") => discretizedGaussianLogLikelihood(x, 0.2, Math.log(0.1), c);
    expect(Math.abs(Math.exp(ll(grid[150]!, "exact")) - Math.exp(ll(grid[150]!, "tanh")))).toBeLessThan(4e-4);
    // mean far above the top: the last bin holds nearly everything
    expect(discretizedGaussianLogLikelihood(1, 3, Math.log(0.1))).toBeCloseTo(0, 10);
    // a far-off bin is floored at 1e-12
    expect(discretizedGaussianLogLikelihood(-1, 3, Math.log(0.1))).toBeCloseTo(Math.log(1e-12), 10);
  });
});

describe("meanCi", () => {
  it("gives mean +- 1.96 s / sqrt(n) with the n - 1 standard deviation", () => {
    const r = meanCi([1, 2, 3, 4]);
    const s = Math.sqrt(5 / 3);
    expect(r.mean).toBe(2.5);
    expect(r.std).toBeCloseTo(s, 14);
    expect(r.halfWidth).toBeCloseTo((1.959963984540054 * s) / 2, 14);
    expect(r.lo).toBeCloseTo(2.5 - r.halfWidth, 14);
    expect(r.hi).toBeCloseTo(2.5 + r.halfWidth, 14);
    expect(meanCi([7]).halfWidth).toBeNaN();
  });

  it("rejects empty input and non-finite values, naming them", () => {
    expect(() => meanCi([])).toThrow(/values.length 0 is not at least 1/);
    expect(() => meanCi([1, Number.NaN], "bits/dim")).toThrow(/bits\/dim\[1\] NaN is not a finite number/);
  });
});
