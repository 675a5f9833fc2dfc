import { describe, expect, it } from "vitest";
import { checkStrength, ddimInvert, img2imgStart, slerp } from "../../src/diffusion/editing.js";
import { cfgCombine, guidanceActive, guidedOutput, rescaleGuided } from "../../src/diffusion/guidance.js";
import { gaussianNoise } from "../../src/diffusion/noise.js";
import { createScheduler } from "../../src/diffusion/registry.js";
import { sample } from "../../src/diffusion/sample.js";
import * as T from "../../src/tensor/index.js";
import { optimalModel } from "./gaussian.js";

const close = (a: T.Tensor, b: ArrayLike<number>, tol = 1e-6) => {
  const v = a.values();
  expect(v.length).toBe(b.length);
  for (let i = 0; i < v.length; i++) expect(Math.abs(v[i]! - b[i]!)).toBeLessThan(tol);
};

describe("guidance math", () => {
  const cond = T.tensor([1, 2, 3, 4, -1, 0, 2, 5], [2, 4]);
  const uncond = T.tensor([0.5, 1, 1, 3, 0, 0, 1, 1], [2, 4]);

  it("cfgCombine is out_u + w (out_c - out_u) elementwise", () => {
    for (const w of [0, 1, 3]) {
      const c = cond.values();
      const u = uncond.values();
      close(
        cfgCombine(cond, uncond, w),
        Array.from(c, (_, i) => u[i]! + w * (c[i]! - u[i]!)),
      );
    }
  });

  it("rescale: per sample, std(cond) / std(guided) with Bessel's correction, mixed by phi", () => {
    const g = cfgCombine(cond, uncond, 3);
    const gv = g.values();
    const cv = cond.values();
    const std = (v: number[]) => {
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
    };
    const expected: number[] = [];
    for (let b = 0; b < 2; b++) {
      const gRow = Array.from(gv.slice(b * 4, b * 4 + 4));
      const ratio = std(Array.from(cv.slice(b * 4, b * 4 + 4))) / std(gRow);
      for (const x of gRow) expected.push(0.7 * x * ratio + 0.3 * x);
    }
    close(rescaleGuided(g, cond, 0.7), expected, 1e-5);
    // phi = 1: the guided output has exactly the conditional output's std.
    const full = rescaleGuided(g, cond, 1).values();
    expect(std(Array.from(full.slice(0, 4)))).toBeCloseTo(std(Array.from(cv.slice(0, 4))), 5);
    // phi = 0 is plain guidance.
    expect(rescaleGuided(g, cond, 0).values()).toEqual(g.values());
  });

  it("rescale on images: the std runs over all non-batch axes [C, H, W] of each sample", () => {
    const c4 = T.tensor(
      Float32Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => Math.sin(i)),
      [2, 2, 3, 3],
    );
    const g4 = T.mul(c4, T.tensor([3, 0.5], [2, 1, 1, 1]));
    // g = k c per sample, so the full rescale (phi = 1) gives c back exactly, whatever k.
    close(rescaleGuided(g4, c4, 1), c4.values(), 1e-5);
  });

  it("interval: guidance only for lo <= t <= hi, the conditional output elsewhere", () => {
    const g = { scale: 3, interval: [200, 600] as const };
    expect([100, 200, 400, 600, 601].map((t) => guidanceActive(g, t))).toEqual([
      false,
      true,
      true,
      true,
      false,
    ]);
    expect(guidedOutput(cond, uncond, g, 100).values()).toEqual(cond.values());
    expect(guidedOutput(cond, uncond, g, 400).values()).toEqual(cfgCombine(cond, uncond, 3).values());
    expect(guidanceActive({ scale: 1 }, 400)).toBe(false);
  });
});

describe("img2img start (diffusers' get_timesteps)", () => {
  const s = createScheduler("DDIMScheduler", { num_train_timesteps: 1000 });
  s.setTimesteps(10); // leading: 900, 800, ..., 0

  it("strength picks timesteps[steps - floor(steps strength)]", () => {
    expect(img2imgStart(s, 10, 1)).toEqual({ startIndex: 0, timestep: 900, steps: 10 });
    expect(img2imgStart(s, 10, 0.55)).toEqual({ startIndex: 5, timestep: 400, steps: 5 });
    expect(img2imgStart(s, 10, 0.1)).toEqual({ startIndex: 9, timestep: 0, steps: 1 });
  });

  it("strength outside (0, 1], or too small for one step, is an error", () => {
    for (const bad of [0, -0.5, 1.01, Number.NaN]) expect(() => checkStrength(bad)).toThrow(/strength/);
    expect(() => img2imgStart(s, 10, 0.05)).toThrow(/strength 0.05 is not large enough for one of 10 steps/);
  });

  it("sample() from initSample runs only the steps from startIndex", async () => {
    const seen: number[] = [];
    const model = (x: T.Tensor, t: number) => {
      seen.push(t);
      return T.mul(x, 0);
    };
    const x = T.zeros([1, 2]);
    await sample(s, model, { initSample: { x, startIndex: 7 } });
    expect(seen).toEqual([200, 100, 0]);
  });
});

describe("DDIM inversion", () => {
  const config = { num_train_timesteps: 1000, beta_schedule: "squaredcos_cap_v2", clip_sample: false };
  const d = { mu: 0.3, s: 0.5 };

  it("inverts then reconstructs an exact model's samples; the error shrinks with steps", async () => {
    const x0 = T.add(T.mul(gaussianNoise(1)([64, 1]), d.s), d.mu);
    const errors: number[] = [];
    for (const steps of [10, 50]) {
      const inv = createScheduler("DDIMInverseScheduler", config);
      inv.setTimesteps(steps);
      const xT = await ddimInvert(inv, optimalModel(inv, d), x0);
      const fwd = createScheduler("DDIMScheduler", config);
      const back = await sample(fwd, optimalModel(fwd, d), { numInferenceSteps: steps, xT });
      errors.push(T.mean(T.square(T.sub(back, x0))).item());
      // The latent is (about) standard normal: the data's N(mu, s^2) mapped to N(0, 1).
      expect(Math.abs(T.mean(xT).item())).toBeLessThan(0.3);
    }
    expect(errors[1]!).toBeLessThan(1e-3); // the data's variance is 0.25
    expect(errors[1]!).toBeLessThan(errors[0]! / 2);
  });

  it("fixed-point iterations make each inverse step the exact inverse of the DDIM step", async () => {
    const x0 = T.add(T.mul(gaussianNoise(2)([64, 1]), d.s), d.mu);
    const roundTrip = async (iterations: number) => {
      const inv = createScheduler("DDIMInverseScheduler", config);
      inv.setTimesteps(10);
      const xT = await ddimInvert(inv, optimalModel(inv, d), x0, { fixedPointIterations: iterations });
      const fwd = createScheduler("DDIMScheduler", config);
      const back = await sample(fwd, optimalModel(fwd, d), { numInferenceSteps: 10, xT });
      return T.mean(T.square(T.sub(back, x0))).item();
    };
    const [plain, refined] = [await roundTrip(0), await roundTrip(5)];
    expect(refined).toBeLessThan(plain / 100);
    expect(refined).toBeLessThan(1e-6);
  });

  it("refuses a scheduler that clips x0-hat", async () => {
    const inv = createScheduler("DDIMInverseScheduler", { ...config, clip_sample: true });
    inv.setTimesteps(5);
    await expect(ddimInvert(inv, optimalModel(inv, d), T.zeros([2, 1]))).rejects.toThrow(/clip_sample/);
  });
});

describe("slerp", () => {
  const a = T.tensor([1, 0, 0, 0], [1, 4]);
  const b = T.tensor([0, 1, 0, 0], [1, 4]);

  it("ends are the inputs; the midpoint of two orthogonal unit vectors keeps norm 1", () => {
    close(slerp(a, b, 0), [1, 0, 0, 0]);
    close(slerp(a, b, 1), [0, 1, 0, 0]);
    close(slerp(a, b, 0.5), [Math.SQRT1_2, Math.SQRT1_2, 0, 0]);
    close(slerp(a, b, 1 / 3), [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6), 0, 0]);
  });

  it("parallel inputs fall back to the straight line; shape mismatch and u outside [0, 1] fail", () => {
    close(slerp(a, T.mul(a, 3), 0.5), [2, 0, 0, 0]);
    expect(() => slerp(a, T.zeros([1, 3]), 0.5)).toThrow(/\[1,3\]/);
    expect(() => slerp(a, b, 1.5)).toThrow(/slerp.u/);
  });
});
