import { describe, expect, it } from "vitest";
import { gaussianNoise } from "../../src/diffusion/noise.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { DiffusionPipeline } from "../../src/pipelines/pipeline.js";
import { makeKey } from "../../src/random/index.js";
import { setDefaultRuntime } from "../../src/tensor/compile.js";
import * as T from "../../src/tensor/index.js";

setDefaultRuntime(nodeOrt);

const SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 100,
  beta_schedule: "linear",
  beta_start: 1e-4,
  beta_end: 0.02,
  prediction_type: "epsilon",
};

/** A tiny class-conditional UNet (3 classes + null class 3) on 8x8 gray images, random weights. */
function tinyPipeline(): DiffusionPipeline {
  const denoiser = denoiserFromConfig(
    {
      sample_size: 8,
      in_channels: 1,
      out_channels: 1,
      block_out_channels: [8],
      down_block_types: ["DownBlock2D"],
      up_block_types: ["UpBlock2D"],
      layers_per_block: 1,
      norm_num_groups: 4,
      num_class_embeds: 4,
    },
    makeKey(5),
  );
  return new DiffusionPipeline({
    denoiser,
    params: denoiser.module.parameters(),
    schedulerConfig: SCHEDULER,
    info: { numClasses: 3, nullClass: 3 },
  });
}

const pipe = tinyPipeline();
const images = T.mul(gaussianNoise(3)([2, 1, 8, 8]), 0.4);
const mse = (a: T.Tensor, b: T.Tensor) => T.mean(T.square(T.sub(a, b))).item();

describe("pipeline editing calls", () => {
  it("generate from xT = the seed's own draw is generate from that seed", async () => {
    const opts = { steps: 3, sampler: "ddim", labels: [0, 2], seed: 9 } as const;
    const drawn = await pipe.generate(opts);
    const given = await pipe.generate({ ...opts, xT: gaussianNoise(9)([2, 1, 8, 8]) });
    expect(given.values()).toEqual(drawn.values());
    await expect(pipe.generate({ ...opts, xT: T.zeros([3, 1, 8, 8]) })).rejects.toThrow(
      "xT: shape [3, 1, 8, 8] does not match the samples' [2, 1, 8, 8]",
    );
  });

  it("invert: latents of the images' shape, clipping turned off with a warning", async () => {
    const warnings: string[] = [];
    const xT = await pipe.invert(images, { steps: 5, labels: [0, 1], warn: (m) => warnings.push(m) });
    expect(xT.shape).toEqual([2, 1, 8, 8]);
    expect(warnings.join("\n")).toMatch(/clip_sample turned off/);
    const again = await pipe.invert(images, { steps: 5, labels: [0, 1], warn: () => {} });
    expect(again.values()).toEqual(xT.values());
  });

  it("invert then reconstruct returns the images; fixed-point refinement lowers the error", async () => {
    const roundTrip = async (fixedPointIterations: number) => {
      const xT = await pipe.invert(images, {
        steps: 10,
        labels: [0, 1],
        fixedPointIterations,
        warn: () => {},
      });
      return mse((await pipe.reconstruct(xT, { steps: 10, labels: [0, 1] })).samples, images);
    };
    const [plain, refined] = [await roundTrip(0), await roundTrip(3)];
    expect(refined).toBeLessThan(plain);
    expect(refined).toBeLessThan(1e-3);
  });

  it("the probability-flow ODE encodes and decodes back (adaptive RK45)", async () => {
    const xT = await pipe.invert(images, { method: "pf_ode", labels: [0, 1] });
    const back = await pipe.reconstruct(xT, { method: "pf_ode", labels: [0, 1] });
    expect(back.sampler).toBe("pf_ode");
    expect(mse(back.samples, images)).toBeLessThan(1e-4);
    expect(mse(xT, images)).toBeGreaterThan(0.01); // the latents moved
  });

  it("invert refuses wrong shapes and missing labels", async () => {
    await expect(pipe.invert(T.zeros([1, 1, 4, 4]), { labels: [0] })).rejects.toThrow(
      "images: shape [1, 1, 4, 4] does not match the model's [N, 1, 8, 8]",
    );
    await expect(pipe.invert(images)).rejects.toThrow(/class-conditional; give one label per image/);
    await expect(pipe.invert(images, { labels: [0, 7] })).rejects.toThrow(/labels\[1\] = 7/);
  });

  it("edit: runs floor(steps strength) steps from the noised images (diffusers' img2img)", async () => {
    const out = await pipe.edit(images, { strength: 0.5, steps: 10, sampler: "ddim", labels: [2, 2] });
    expect(out.samples.shape).toEqual([2, 1, 8, 8]);
    expect(out.nfe).toBe(5);
    expect((await pipe.edit(images, { strength: 1, steps: 10, sampler: "ddim", labels: [2, 2] })).nfe).toBe(
      10,
    );
    // Other labels, another result; the same call, the same result.
    const other = await pipe.edit(images, { strength: 0.5, steps: 10, sampler: "ddim", labels: [0, 0] });
    expect(other.values()).not.toEqual(out.values());
    const same = await pipe.edit(images, { strength: 0.5, steps: 10, sampler: "ddim", labels: [2, 2] });
    expect(same.values()).toEqual(out.values());
  });

  it("edit refuses strength outside (0, 1] and images of another shape", async () => {
    for (const strength of [0, -1, 1.5]) {
      await expect(pipe.edit(images, { strength, labels: [0, 0] })).rejects.toThrow(/strength/);
    }
    await expect(pipe.edit(T.zeros([1, 3, 8, 8]), { strength: 0.5 })).rejects.toThrow(
      "images: shape [1, 3, 8, 8] does not match the model's [N, 1, 8, 8]",
    );
  });

  it("interpolate: the ends decode their latents, frames in between differ", async () => {
    const [a, b] = [gaussianNoise(1)([1, 1, 8, 8]), gaussianNoise(2)([1, 1, 8, 8])];
    const strip = await pipe.interpolate(a, b, { frames: 4, steps: 4, labels: [1] });
    expect(strip.samples.shape).toEqual([4, 1, 8, 8]);
    const ends = await pipe.reconstruct(T.concat([a, b], 0), { steps: 4, labels: [1, 1] });
    const v = strip.samples.values();
    const e = ends.samples.values();
    const per = 64;
    for (let i = 0; i < per; i++) {
      expect(v[i]).toBeCloseTo(e[i]!, 4);
      expect(v[3 * per + i]).toBeCloseTo(e[per + i]!, 4);
    }
    await expect(pipe.interpolate(a, b, { frames: 1, labels: [1] })).rejects.toThrow(/frames: 1/);
    await expect(pipe.interpolate(a, b, { frames: 3 })).rejects.toThrow(/class-conditional; give one label/);
    await expect(pipe.interpolate(T.concat([a, b], 0), b, { frames: 3, labels: [1] })).rejects.toThrow(
      /one sample each/,
    );
  });
});
