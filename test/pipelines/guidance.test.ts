/**
 * Classifier-free guidance through generate(): one DDIM step (t = 0 with one "leading" step, so the
 * sample is x0-hat = (x - sqrt(1 - abar) out) / sqrt(abar)) checked against the guided output computed
 * by hand from two SEPARATE eager model calls, cond (labels y) and uncond (the null class).
 */
import { describe, expect, it } from "vitest";
import { rescaleGuided } from "../../src/diffusion/guidance.js";
import { gaussianNoise } from "../../src/diffusion/noise.js";
import { createScheduler } from "../../src/diffusion/registry.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { type GenerateOptions, generate } from "../../src/pipelines/generate.js";
import { makeKey } from "../../src/random/index.js";
import { setDefaultRuntime } from "../../src/tensor/compile.js";
import * as T from "../../src/tensor/index.js";

setDefaultRuntime(nodeOrt);

const CONFIG = { num_train_timesteps: 100, beta_schedule: "linear", clip_sample: false };
const denoiser = denoiserFromConfig(
  { _class_name: "MLPDenoiser", in_features: 2, hidden_size: 16, num_layers: 1, num_class_embeds: 4 },
  makeKey(5),
);
const params = denoiser.module.parameters();
const labels = Int32Array.from([0, 1, 2, 0, 1]);
const N = labels.length;
const SEED = 11;

/** generate() with DDIM, `steps` steps, on the tiny conditional model. */
async function run(extra: Partial<GenerateOptions>, steps = 1): Promise<Float32Array> {
  const r = await generate({
    denoiser,
    params,
    scheduler: createScheduler("DDIMScheduler", CONFIG),
    steps,
    numSamples: N,
    seed: SEED,
    labels,
    nullClass: 3,
    ...extra,
  });
  return r.samples;
}

/** The one-step sample for a model output computed by hand: x0-hat at t = 0. */
function byHand(combine: (cond: T.Tensor, uncond: T.Tensor) => T.Tensor, nullClass = 3): Float32Array {
  const x = gaussianNoise(SEED)([N, 2]);
  const t = T.full([N], 0);
  const cond = denoiser.forward(params, x, t, T.tensor(labels, [N], "int32"));
  const uncond = denoiser.forward(params, x, t, T.full([N], nullClass, "int32"));
  const out = combine(cond, uncond);
  const s = createScheduler("DDIMScheduler", CONFIG);
  s.setTimesteps(1);
  return Float32Array.from(s.step(out, 0, x).prevSample.values() as Float32Array);
}

const expectClose = (a: Float32Array, b: Float32Array, tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol);
};

describe("classifier-free guidance in generate()", () => {
  for (const w of [0, 1, 3]) {
    it(`w = ${w}: out_u + w (out_c - out_u) from two separate model calls`, async () => {
      const hand = byHand((c, u) => {
        const cv = c.values();
        const uv = u.values();
        return T.tensor(
          Float32Array.from(cv, (_, i) => uv[i]! + w * (cv[i]! - uv[i]!)),
          [...c.shape],
        );
      });
      expectClose(await run({ guidanceScale: w }), hand);
    });
  }

  it("the unconditional half uses the model's null class (another null class gives another result)", async () => {
    const withNull0 = byHand((c, u) => T.add(u, T.mul(T.sub(c, u), 3)), 0);
    expectClose(await run({ guidanceScale: 3, nullClass: 0 }), withNull0);
    const withNull3 = byHand((c, u) => T.add(u, T.mul(T.sub(c, u), 3)), 3);
    expect(Math.max(...withNull0.map((v, i) => Math.abs(v - withNull3[i]!)))).toBeGreaterThan(1e-4);
  });

  it("guidance without a null class is an error", async () => {
    await expect(run({ guidanceScale: 3, nullClass: null })).rejects.toThrow(/null class/);
    await expect(run({ guidanceScale: 3, nullClass: undefined })).rejects.toThrow(/null class/);
  });

  it("guidance rescale matches the hand computation; rescale 0 is plain guidance", async () => {
    const plain = (c: T.Tensor, u: T.Tensor) => T.add(u, T.mul(T.sub(c, u), 3));
    const rescaled = byHand((c, u) => rescaleGuided(plain(c, u), c, 0.7));
    expectClose(await run({ guidanceScale: 3, guidanceRescale: 0.7 }), rescaled);
    expect(await run({ guidanceScale: 3, guidanceRescale: 0 })).toEqual(await run({ guidanceScale: 3 }));
    expect(Math.max(...rescaled.map((v, i) => Math.abs(v - byHand(plain)[i]!)))).toBeGreaterThan(1e-4);
    await expect(run({ guidanceScale: 3, guidanceRescale: 1.5 })).rejects.toThrow(/guidance_rescale 1.5/);
  });

  it("the guidance interval: off outside [lo, hi] (conditional output), on inside", async () => {
    // One step at t = 0: an interval without 0 is the conditional model, one with 0 the guided one.
    expectClose(
      await run({ guidanceScale: 3, guidanceInterval: [10, 90] }),
      byHand((c) => c),
    );
    expect(await run({ guidanceScale: 3, guidanceInterval: [0, 90] })).toEqual(
      await run({ guidanceScale: 3 }),
    );
    // Four steps (t = 75, 50, 25, 0): guiding only at t >= 50 differs from both extremes.
    const part = await run({ guidanceScale: 3, guidanceInterval: [50, 99] }, 4);
    expect(part).not.toEqual(await run({ guidanceScale: 3 }, 4));
    expect(part).not.toEqual(await run({ guidanceScale: 1 }, 4));
    await expect(run({ guidanceScale: 3, guidanceInterval: [60, 10] })).rejects.toThrow(/guidance_interval/);
  });
});
