import { describe, expect, it } from "vitest";
import { fid, fitGaussian, frechetDistance } from "../../src/eval/fid.js";
import { matmul, type Square } from "../../src/eval/linalg.js";
import { matrix } from "../../src/eval/matrix.js";
import { gaussianSample, randomOrthogonal, withSpectrum } from "./helpers.js";

const diag = (v: number[]): Square => {
  const n = v.length;
  const data = new Float64Array(n * n);
  v.forEach((x, i) => {
    data[i * n + i] = x;
  });
  return { data, n };
};

describe("FID: closed forms", () => {
  it("diagonal covariances: |dmu|^2 + sum (sqrt a_i - sqrt b_i)^2", () => {
    const a = [1, 4, 0.25, 9];
    const b = [2, 1, 0.5, 9];
    const mu1 = Float64Array.from([0, 1, 2, 3]);
    const mu2 = Float64Array.from([1, 1, 0, 3]);
    const analytic = 1 + 0 + 4 + 0 + a.reduce((s, ai, i) => s + (Math.sqrt(ai) - Math.sqrt(b[i]!)) ** 2, 0);
    const got = frechetDistance({ mean: mu1, cov: diag(a) }, { mean: mu2, cov: diag(b) });
    expect(got.fid).toBeCloseTo(analytic, 12);
    expect(got.meanTerm).toBeCloseTo(5, 14);
  });

  it("a rotated 2x2 covariance: tr S1 + tr S2 - 2 sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2))", () => {
    // For 2x2 SPD M, tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)); M = S1^1/2 S2 S1^1/2 has tr = tr(S1 S2).
    const s1 = diag([3, 0.5]);
    const th = 0.7;
    const [c, s] = [Math.cos(th), Math.sin(th)];
    const r = { data: Float64Array.from([c, -s, s, c]), n: 2 };
    const s2 = withSpectrum(r, [2, 0.2]);
    const det = (m: Square) => m.data[0]! * m.data[3]! - m.data[1]! * m.data[2]!;
    const trS1S2 = matmul(s1, s2).data[0]! + matmul(s1, s2).data[3]!;
    const trSqrt = Math.sqrt(trS1S2 + 2 * Math.sqrt(det(s1) * det(s2)));
    const mu = Float64Array.from([0.5, -1]);
    const analytic = 0.5 ** 2 + 1 + 3.5 + 2.2 - 2 * trSqrt;
    const got = frechetDistance({ mean: mu, cov: s1 }, { mean: new Float64Array(2), cov: s2 });
    expect(got.fid).toBeCloseTo(analytic, 12);
  });

  it("a rotated d = 16 covariance against a scaled identity: tr sqrt(a S2) = sqrt(a) sum sqrt(eig S2)", () => {
    const d = 16;
    const eig = Array.from({ length: d }, (_, i) => 0.1 + i * 0.3);
    const s2 = withSpectrum(randomOrthogonal(d, 5), eig);
    const a = 2.5;
    const analytic =
      a * d + eig.reduce((x, y) => x + y, 0) - 2 * Math.sqrt(a) * eig.reduce((x, y) => x + Math.sqrt(y), 0);
    const zero = new Float64Array(d);
    const got = frechetDistance({ mean: zero, cov: diag(new Array(d).fill(a)) }, { mean: zero, cov: s2 });
    expect(got.fid).toBeCloseTo(analytic, 10);
  });
});

describe("FID: estimates from samples", () => {
  it("identical sets give 0 up to rounding", () => {
    const x = gaussianSample(
      500,
      new Array(32).fill(0),
      withSpectrum(randomOrthogonal(32, 7), new Array(32).fill(1)),
      1,
    );
    const r = fid(x, x);
    expect(Math.abs(r.fid)).toBeLessThan(1e-9);
  });

  it("two samples of the same N(0, I) give the estimator's bias: E ~ 2d/n + (d^2 + d)/(2n)", () => {
    // The bias (derived in fid.ts) is what FID ~ 0 means for finite samples; 3 repeats average it.
    const [d, n] = [24, 4000];
    const eye = diag(new Array(d).fill(1));
    const bias = (2 * d) / n + (d * d + d) / (2 * n);
    let mean = 0;
    for (let rep = 0; rep < 3; rep++) {
      const x = gaussianSample(n, new Array(d).fill(0), eye, 10 + 2 * rep);
      const y = gaussianSample(n, new Array(d).fill(0), eye, 11 + 2 * rep);
      mean += fid(x, y).fid / 3;
    }
    expect(mean).toBeGreaterThan(0.7 * bias);
    expect(mean).toBeLessThan(1.3 * bias);
  });

  it("samples of two known Gaussians approach the closed form (within the bias)", () => {
    const d = 6;
    const l2 = withSpectrum(randomOrthogonal(d, 9), [0.3, 0.5, 0.8, 1, 1.5, 2]); // S2 = L2 L2^T = L2^2
    const s2 = matmul(l2, l2);
    const mu2 = [1, 0, -1, 0.5, 0, 0];
    const n = 20000;
    const x = gaussianSample(n, new Array(d).fill(0), diag(new Array(d).fill(1)), 21);
    const y = gaussianSample(n, mu2, l2, 22);
    const exact = frechetDistance(
      { mean: new Float64Array(d), cov: diag(new Array(d).fill(1)) },
      { mean: Float64Array.from(mu2), cov: s2 },
    ).fid;
    const est = fid(x, y).fid;
    expect(Math.abs(est - exact)).toBeLessThan(0.05 * exact);
    const g = fitGaussian(y);
    expect(g.count).toBe(n);
    g.mean.forEach((m, i) => {
      expect(m).toBeCloseTo(mu2[i]!, 1);
    });
  });

  it("rejects feature sets of different dimension, naming both", () => {
    expect(() => fid(matrix(new Float64Array(6), 3, 2), matrix(new Float64Array(9), 3, 3))).toThrow(
      /feature dimensions differ \(2 vs 3\)/,
    );
  });
});
