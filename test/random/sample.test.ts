import { describe, expect, it } from "vitest";
import { foldIn, type Key, makeKey, split } from "../../src/random/philox.js";
import { bernoulli, boxMuller, normal, permutation, randint, uniform } from "../../src/random/sample.js";

/**
 * Statistical tolerances: every check below uses 5 standard errors of the statistic under the null
 * hypothesis, so a correct generator fails a given check with probability < 1e-6 (and, the keys being
 * fixed, the outcome is deterministic anyway).
 */
const N = 100_000;
const Z = 5;

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}

/** Central moment of order k. */
function moment(a: ArrayLike<number>, k: number): number {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - m) ** k;
  return s / a.length;
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe("determinism", () => {
  it("same key gives the same values, different keys differ", () => {
    const [k1, k2] = split(makeKey(0), 2) as [Key, Key];
    const draws: ((k: Key) => ArrayLike<number>)[] = [
      (k) => uniform(k, 100),
      (k) => normal(k, 101),
      (k) => randint(k, 100, -5, 17),
      (k) => permutation(k, 100),
      (k) => bernoulli(k, 100, 0.3),
    ];
    for (const f of draws) {
      expect(f(k1)).toEqual(f(k1));
      expect(f(k1)).not.toEqual(f(k2));
    }
  });
});

describe("uniform", () => {
  const u = uniform(makeKey(1), N);

  it("lies in [0, 1) on a 2^-24 grid", () => {
    const bad = u.filter((x) => !(x >= 0 && x < 1 && Number.isInteger(x * 2 ** 24)));
    expect(Array.from(bad)).toEqual([]);
  });

  it("has mean 1/2 and variance 1/12", () => {
    // SE(mean) = sqrt(1/12 / N); SE(var) = sqrt((mu4 - sigma^4) / N) with mu4 = 1/80.
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(Z * Math.sqrt(1 / 12 / N));
    expect(Math.abs(moment(u, 2) - 1 / 12)).toBeLessThan(Z * Math.sqrt((1 / 80 - 1 / 144) / N));
  });

  it("fills 100 equal bins evenly (chi-square)", () => {
    const bins = new Float64Array(100);
    for (const x of u) bins[Math.floor(x * 100)]!++;
    const e = N / 100;
    const chi2 = bins.reduce((s, c) => s + (c - e) ** 2 / e, 0);
    // chi-square with 99 degrees of freedom: mean 99, sd sqrt(198).
    expect(chi2).toBeLessThan(99 + Z * Math.sqrt(198));
  });

  it("streams of split keys, folded keys and consecutive words are uncorrelated", () => {
    const key = makeKey(2);
    const [a, b] = split(key, 2) as [Key, Key];
    const se = 1 / Math.sqrt(N); // SE of a Pearson correlation of independent samples
    expect(Math.abs(correlation(uniform(a, N), uniform(b, N)))).toBeLessThan(Z * se);
    expect(Math.abs(correlation(uniform(foldIn(key, 0), N), uniform(foldIn(key, 1), N)))).toBeLessThan(
      Z * se,
    );
    expect(Math.abs(correlation(uniform(key, N), uniform(a, N)))).toBeLessThan(Z * se);
    expect(Math.abs(correlation(u.subarray(0, N - 1), u.subarray(1)))).toBeLessThan(Z * se);
  });
});

describe("normal", () => {
  const z = normal(makeKey(3), N);

  it("has mean 0, variance 1, skewness 0 and kurtosis 3", () => {
    // SEs for N(0,1): mean 1/sqrt(N), variance sqrt(2/N), skewness sqrt(6/N), kurtosis sqrt(24/N).
    expect(Math.abs(mean(z))).toBeLessThan(Z / Math.sqrt(N));
    expect(Math.abs(moment(z, 2) - 1)).toBeLessThan(Z * Math.sqrt(2 / N));
    expect(Math.abs(moment(z, 3))).toBeLessThan(Z * Math.sqrt(6 / N));
    expect(Math.abs(moment(z, 4) - 3)).toBeLessThan(Z * Math.sqrt(24 / N));
  });

  it("puts 68.27% of the mass within one sd", () => {
    const p = 0.682689;
    const inside = z.reduce((s, x) => s + (Math.abs(x) < 1 ? 1 : 0), 0) / N;
    expect(Math.abs(inside - p)).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / N));
  });

  it("is finite at the extreme words (u = 0 never reaches log)", () => {
    for (const [b1, b2] of [
      [0, 0],
      [0, 0xffffffff],
      [0xffffffff, 0],
    ] as const) {
      const [a, b] = boxMuller(b1, b2);
      expect(Number.isFinite(a) && Number.isFinite(b)).toBe(true);
    }
    expect(Math.abs(boxMuller(0, 0)[0])).toBeCloseTo(Math.sqrt(2 * 32 * Math.LN2), 12);
  });

  it("an odd count is the prefix of the next even count", () => {
    const key = makeKey(4);
    expect(normal(key, 7)).toEqual(normal(key, 8).slice(0, 7));
  });
});

describe("randint", () => {
  it("stays in [low, high), hits every value and is unbiased", () => {
    const r = randint(makeKey(5), N, -3, 4);
    const counts = new Map<number, number>();
    for (const x of r) counts.set(x, (counts.get(x) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    const p = 1 / 7;
    for (const c of counts.values())
      expect(Math.abs(c / N - p)).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / N));
  });

  it("handles the full int32 range and a range of one", () => {
    const r = randint(makeKey(6), 1000, -(2 ** 31), 2 ** 31);
    expect(r.some((x) => x < 0) && r.some((x) => x > 0)).toBe(true);
    expect(Array.from(randint(makeKey(6), 5, 9, 10))).toEqual([9, 9, 9, 9, 9]);
  });

  it("rejects bad bounds", () => {
    expect(() => randint(makeKey(0), 3, 5, 5)).toThrow(/high.*5/);
    expect(() => randint(makeKey(0), 3, 0.5, 5)).toThrow(/low.*0\.5/);
    expect(() => randint(makeKey(0), 3, 0, 2 ** 33)).toThrow(/high/);
  });
});

describe("permutation", () => {
  it("is a permutation of 0..n-1", () => {
    for (const n of [0, 1, 2, 1000]) {
      const p = permutation(makeKey(n), n);
      expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    expect(Array.from(permutation(makeKey(7), 1000))).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it("draws each of the 6 orders of 3 items equally often", () => {
    const trials = 6000;
    const counts = new Map<string, number>();
    const key = makeKey(8);
    for (let t = 0; t < trials; t++) {
      const s = Array.from(permutation(foldIn(key, t), 3)).join("");
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    const p = 1 / 6;
    for (const c of counts.values()) {
      expect(Math.abs(c / trials - p)).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / trials));
    }
  });
});

describe("bernoulli", () => {
  it("has mean p, and is exact at p = 0 and p = 1", () => {
    const p = 0.3;
    const b = bernoulli(makeKey(9), N, p);
    expect(b.every((x) => x === 0 || x === 1)).toBe(true);
    expect(Math.abs(mean(b) - p)).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / N));
    expect(bernoulli(makeKey(9), 1000, 0).every((x) => x === 0)).toBe(true);
    expect(bernoulli(makeKey(9), 1000, 1).every((x) => x === 1)).toBe(true);
  });

  it("rejects p outside [0, 1]", () => {
    expect(() => bernoulli(makeKey(0), 3, 1.5)).toThrow(/p.*1\.5/);
    expect(() => bernoulli(makeKey(0), 3, Number.NaN)).toThrow(/p/);
  });
});
