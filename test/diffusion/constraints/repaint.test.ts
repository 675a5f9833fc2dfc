/** RePaint's schedule of levels (jumps) and the reconstruction-guidance output conversion. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { knownPart } from "../../../src/diffusion/constraints/mask.js";
import { levelAtTimestep, reconstructionGuided } from "../../../src/diffusion/constraints/reconstruction.js";
import { repaintSchedule, sampleRepaint } from "../../../src/diffusion/constraints/repaint.js";
import { gaussianNoise } from "../../../src/diffusion/noise.js";
import { createScheduler } from "../../../src/diffusion/registry.js";
import * as T from "../../../src/tensor/index.js";
import { rand } from "../../helpers.js";
import { optimalModel } from "../gaussian.js";

describe("repaintSchedule", () => {
  it("walks down, jumping J up at 0, J, 2J, ... (k + J < n) R - 1 times each", () => {
    expect(repaintSchedule(6, 2, 3)).toEqual([6, 5, 4, 3, 2, 4, 3, 2, 4, 3, 2, 1, 0, 2, 1, 0, 2, 1, 0]);
    expect(repaintSchedule(4, 10, 10)).toEqual([4, 3, 2, 1, 0]); // no jump point with k + J < n
    expect(repaintSchedule(3, 1, 1)).toEqual([3, 2, 1, 0]); // R = 1: plain DDPM
  });
  it("has n + (#jump points)(R - 1) J down steps, only -1 / +J moves, stays in [0, n], ends at 0", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 6 }),
        (n, j, r) => {
          const s = repaintSchedule(n, j, r);
          const points = Math.max(0, Math.ceil((n - j) / j));
          let down = 0;
          for (let i = 1; i < s.length; i++) {
            const d = s[i]! - s[i - 1]!;
            expect(d === -1 || d === j).toBe(true);
            if (d === -1) down++;
          }
          expect(down).toBe(n + points * (r - 1) * j);
          expect(s[0]).toBe(n);
          expect(s.at(-1)).toBe(0);
          expect(Math.max(...s)).toBe(n);
          expect(Math.min(...s)).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });
  it("refuses bad counts", () => {
    expect(() => repaintSchedule(5, -1, 2)).toThrow(/jump length/);
    expect(() => repaintSchedule(5, 2, 0)).toThrow(/resample count/);
  });
});

describe("sampleRepaint", () => {
  it("keeps the known entries bit for bit and calls the model once per down step", async () => {
    const s = createScheduler("DDPMScheduler", { clip_sample: false, num_train_timesteps: 100 });
    s.setTimesteps(8);
    const shape = [2, 1, 3, 3];
    const known = rand(4, shape);
    const mask = T.tensor(Float32Array.from([1, 0, 1, 0, 0, 1, 1, 1, 0]), [1, 1, 3, 3]);
    const part = knownPart(known, mask, shape);
    const model = optimalModel(s, { mu: 0, s: 0.5 });
    let calls = 0;
    const x = await sampleRepaint(
      (y, t) => {
        calls++;
        return model(y, t);
      },
      {
        timesteps: s.timesteps,
        alphasCumprod: (s as unknown as { alphasCumprod: Float64Array }).alphasCumprod,
        predictionType: "epsilon",
        jump: 2,
        resample: 3,
        known: part,
        noise: gaussianNoise(1),
      },
    );
    expect(calls).toBe(8 + 3 * 2 * 2); // jump points 0, 2, 4
    const v = x.values();
    const k = known.values();
    for (let i = 0; i < v.length; i++) if (part.mask[i]) expect(Object.is(v[i], k[i])).toBe(true);
  });
});

describe("reconstructionGuided", () => {
  const abar = Float64Array.from({ length: 10 }, (_, i) => 1 - 0.09 * (i + 1));
  it("moves x0-hat by -(w alpha / 2) grad: eps~ = eps + w alpha^2 / (2 sigma) grad", async () => {
    const x = rand(1, [1, 4]);
    const eps = rand(2, [1, 4]);
    const g = rand(3, [1, 4]);
    const f = reconstructionGuided(async () => ({ output: eps, grad: g, loss: 0 }), {
      weight: 3,
      predictionType: "epsilon",
      alphasCumprod: abar,
    });
    const out = (await f(x, 4)).values();
    const { alpha, sigma } = levelAtTimestep(abar, 4);
    expect(alpha ** 2).toBeCloseTo(abar[4]!, 12);
    for (let i = 0; i < 4; i++) {
      expect(out[i]).toBeCloseTo(eps.values()[i]! + ((3 * alpha * alpha) / (2 * sigma)) * g.values()[i]!, 4);
    }
    const x0Model = reconstructionGuided(async () => ({ output: eps, grad: g, loss: 0 }), {
      weight: 3,
      predictionType: "sample",
      alphasCumprod: abar,
    });
    const x0 = (await x0Model(x, 4)).values();
    for (let i = 0; i < 4; i++) expect(x0[i]).toBeCloseTo(eps.values()[i]! - 1.5 * alpha * g.values()[i]!, 5);
  });
  it("interpolates the level at fractional timesteps between its neighbours", () => {
    const a = levelAtTimestep(abar, 4.5).alpha ** 2;
    expect(a).toBeLessThan(abar[4]!);
    expect(a).toBeGreaterThan(abar[5]!);
  });
  it("refuses a negative weight", () => {
    expect(() =>
      reconstructionGuided(async () => ({ output: T.zeros([1]), grad: T.zeros([1]), loss: 0 }), {
        weight: -1,
        predictionType: "epsilon",
        alphasCumprod: abar,
      }),
    ).toThrow(/weight/);
  });
});
