/**
 * The forward process, its posterior, the parametrisation conversions, thresholding and the small
 * tensor helpers, against their defining formulas.
 */
import { describe, expect, it } from "vitest";
import { lincomb } from "../../src/diffusion/combine.js";
import {
  addNoise,
  clippedLogVariance,
  posterior,
  posteriorMean,
  velocityTarget,
} from "../../src/diffusion/forward.js";
import { gaussianNoise, replayNoise } from "../../src/diffusion/noise.js";
import {
  alphaSigmaFromAbar,
  clipSample,
  dynamicThreshold,
  epsFromFlow,
  flowVelocity,
  predictEps,
  predictX0,
  predictX0FromVe,
  processX0,
  scoreFromEps,
  velocityFrom,
  x0FromFlow,
} from "../../src/diffusion/parametrization.js";
import { alphasCumprod, betasFor, posteriorVariance } from "../../src/diffusion/schedules.js";
import * as T from "../../src/tensor/index.js";
import { expectClose, rand } from "../helpers.js";

const abar = alphasCumprod(betasFor({ beta_schedule: "scaled_linear" }));
const SHAPE = [3, 2, 2, 2];

describe("forward process", () => {
  const x0 = rand(1, SHAPE);
  const noise = rand(2, SHAPE);
  const ts = [0, 400, 999];

  it("addNoise uses each batch element's own timestep", () => {
    const xt = addNoise(x0, noise, ts, abar).values();
    const [a, n] = [x0.values(), noise.values()];
    const per = 8;
    const want = Array.from(a, (v, i) => {
      const ab = abar[ts[Math.floor(i / per)]];
      return Math.sqrt(ab) * v + Math.sqrt(1 - ab) * n[i];
    });
    expectClose(xt, want, 1e-6, 1e-7, "x_t");
  });

  it("velocity, x_t and the conversions are consistent (x0 and eps recovered from x_t and v)", () => {
    const xt = addNoise(x0, noise, [500, 500, 500], abar);
    const v = velocityTarget(x0, noise, [500, 500, 500], abar);
    const c = alphaSigmaFromAbar(abar[500]);
    expectClose(predictX0("v_prediction", v, xt, c).values(), x0.values(), 1e-5, 1e-5, "x0 from v");
    expectClose(predictEps("v_prediction", v, xt, c).values(), noise.values(), 1e-5, 1e-5, "eps from v");
    expectClose(predictX0("epsilon", noise, xt, c).values(), x0.values(), 1e-4, 1e-5, "x0 from eps");
    expectClose(predictEps("sample", x0, xt, c).values(), noise.values(), 1e-4, 1e-5, "eps from x0");
    expectClose(velocityFrom(x0, noise, c).values(), v.values(), 1e-6, 1e-6, "velocityFrom");
    expectClose(
      scoreFromEps(noise, c.sigma).values(),
      T.div(T.neg(noise), c.sigma).values(),
      1e-7,
      0,
      "score",
    );
  });

  it("the VE form x = x0 + sigma eps gives the same x0 for every prediction type", () => {
    const c = alphaSigmaFromAbar(abar[300]);
    const sigma = c.sigma / c.alpha;
    const xt = addNoise(x0, noise, [300, 300, 300], abar);
    const xVe = T.div(xt, c.alpha);
    for (const [type, out] of [
      ["epsilon", noise],
      ["sample", x0],
      ["v_prediction", velocityTarget(x0, noise, [300, 300, 300], abar)],
    ] as const) {
      expectClose(predictX0FromVe(type, out, xVe, sigma).values(), x0.values(), 1e-4, 1e-5, type);
    }
  });

  it("rectified-flow conversions invert x_s = (1 - s) x0 + s eps", () => {
    const s = 0.3;
    const xs = T.add(T.mul(x0, 1 - s), T.mul(noise, s));
    const u = flowVelocity(x0, noise);
    expectClose(x0FromFlow(xs, u, s).values(), x0.values(), 1e-6, 1e-6, "x0");
    expectClose(epsFromFlow(xs, u, s).values(), noise.values(), 1e-6, 1e-6, "eps");
  });

  it("the posterior matches DDPM eq. 7 for adjacent timesteps and the schedule's beta-tilde", () => {
    const betas = betasFor({ beta_schedule: "scaled_linear" });
    const tilde = posteriorVariance(betas, abar);
    for (const t of [1, 10, 500, 999]) {
      const p = posterior(abar[t], abar[t - 1]);
      // abar_t / abar_{t-1} is 1 - beta_t up to float32 rounding of abar (~1e-4 relative where beta_t ~ 1e-3).
      expect(p.x0Coef / ((Math.sqrt(abar[t - 1]) * betas[t]) / (1 - abar[t]))).toBeCloseTo(1, 3);
      expect(p.xtCoef / ((Math.sqrt(1 - betas[t]) * (1 - abar[t - 1])) / (1 - abar[t]))).toBeCloseTo(1, 3);
      expect(p.varianceSmall / tilde[t]).toBeCloseTo(1, 3);
      expect(p.varianceLarge / betas[t]).toBeCloseTo(1, 3);
    }
    const p = posterior(abar[100], abar[99]);
    const mean = posteriorMean(x0, noise, p).values();
    const want = Array.from(x0.values(), (v, i) => p.x0Coef * v + p.xtCoef * noise.values()[i]);
    expectClose(mean, want, 1e-6, 1e-7, "posterior mean");
    const logv = clippedLogVariance(tilde);
    expect(logv[0]).toBeCloseTo(Math.log(tilde[1]), 12);
    expect(logv[7]).toBeCloseTo(Math.log(tilde[7]), 12);
  });
});

describe("thresholding and clipping", () => {
  it("dynamic thresholding uses torch.quantile's linear interpolation per batch element", () => {
    // row 0: |x| = 1..10, quantile 0.5 at rank 4.5 -> 5.5 (within [1, 8]); row 1: small, s clamps to 1.
    const row0 = [1, -2, 3, -4, 5, -6, 7, -8, 9, -10];
    const row1 = [0.1, -0.2, 0.3, 0, 0, 0, 0, 0, 0, 0.5];
    const out = dynamicThreshold(T.tensor([...row0, ...row1], [2, 10]), 0.5, 8).values();
    const s = 5.5;
    expectClose(
      out.subarray(0, 10),
      row0.map((v) => Math.min(Math.max(v, -s), s) / s),
      1e-6,
      0,
      "row 0",
    );
    expectClose(out.subarray(10), row1, 1e-6, 0, "row 1");
    // the upper clamp: sample_max_value caps s
    const capped = dynamicThreshold(T.tensor(row0, [1, 10]), 0.9, 2).values();
    expectClose(
      capped,
      row0.map((v) => Math.min(Math.max(v, -2), 2) / 2),
      1e-6,
      0,
      "capped",
    );
  });

  it("thresholding takes precedence over clip_sample, as in diffusers", () => {
    const x = T.tensor([3, -0.5, 0.25, -4], [1, 4]);
    expect(processX0(x, { clip_sample: true, clip_sample_range: 2 }).toArray()).toEqual([2, -0.5, 0.25, -2]);
    const t = processX0(x, {
      thresholding: true,
      clip_sample: true,
      dynamic_thresholding_ratio: 1,
      sample_max_value: 10,
    });
    expectClose(t.values(), [0.75, -0.125, 0.0625, -1], 1e-6, 0, "thresholded");
    expect(clipSample(x).toArray()).toEqual([1, -0.5, 0.25, -1]);
  });
});

describe("helpers", () => {
  it("lincomb keeps 0 * Infinity as NaN, like the reference's tensor arithmetic", () => {
    const r = lincomb([1, T.tensor([1, 2], [2])], [0, T.tensor([Infinity, 1], [2])]).toArray();
    expect(Number.isNaN(r[0])).toBe(true);
    expect(r[1]).toBe(2);
  });

  it("replayNoise replays draws in order and reports misuse", () => {
    const source = replayNoise([
      [1, 2],
      [3, 4],
    ]);
    expect(source([2]).toArray()).toEqual([1, 2]);
    expect(source.remaining()).toBe(1);
    expect(() => source([3])).toThrow("noise draw 1 has 2 values but shape [3] needs 3");
    source([2]);
    expect(() => source([2])).toThrow("noise draw 2 was requested but only 2 draws were recorded");
  });

  it("gaussianNoise is reproducible from its seed", () => {
    const [a, b] = [gaussianNoise(5), gaussianNoise(5)];
    expect(a([4]).toArray()).toEqual(b([4]).toArray());
    expect(a([4]).toArray()).not.toEqual(gaussianNoise(6)([4]).toArray());
  });
});
