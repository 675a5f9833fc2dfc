/**
 * Every sampling-time caller of the denoiser's compiled forward (inversion, inpainting, the NLL's
 * bound, reflow's couplings) compiles the loaded weights in as constants, as sampling does: the
 * recorded `compiledForward` calls must all carry the params they run with.
 */
import { describe, expect, it, vi } from "vitest";
import { gaussianNoise } from "../../src/diffusion/noise.js";
import { vlbModelFor } from "../../src/eval/nll-model.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import type { Params } from "../../src/nn/index.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { inpaint } from "../../src/pipelines/inpaint.js";
import { DiffusionPipeline } from "../../src/pipelines/pipeline.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { TINY_COND_UNET } from "../helpers.js";

const calls: { frozen: Params | undefined }[] = [];
vi.mock("../../src/pipelines/generate.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/pipelines/generate.js")>();
  return {
    ...real,
    compiledForward: (...args: Parameters<typeof real.compiledForward>) => {
      calls.push({ frozen: args[2] });
      return real.compiledForward(...args);
    },
  };
});

T.setDefaultRuntime(nodeOrt);

const denoiser = denoiserFromConfig(TINY_COND_UNET, makeKey(5));
const params = denoiser.module.parameters();
const pipe = new DiffusionPipeline({
  denoiser,
  params,
  schedulerConfig: {
    _class_name: "DDPMScheduler",
    num_train_timesteps: 100,
    beta_schedule: "linear",
    prediction_type: "epsilon",
  },
  info: { numClasses: 3, nullClass: 3 },
});
const images = T.mul(gaussianNoise(3)([2, 1, 8, 8]), 0.4);

/** Runs `f` and returns the params of each compiledForward call it made. */
async function frozenOf(f: () => Promise<unknown>): Promise<(Params | undefined)[]> {
  calls.length = 0;
  await f();
  return calls.map((c) => c.frozen);
}

describe("sampling-time callers compile the weights in", () => {
  it("inversion", async () => {
    const seen = await frozenOf(() => pipe.invert(images, { steps: 2, labels: [0, 1] }));
    expect(seen.length).toBeGreaterThan(0);
    for (const p of seen) expect(p).toBe(params);
  });

  it("inpainting", async () => {
    const mask = T.tensor(
      Float32Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 1 : 0)),
      [1, 1, 8, 8],
    );
    const seen = await frozenOf(() => inpaint(pipe, images, mask, { steps: 2, labels: [0, 1] }));
    expect(seen.length).toBeGreaterThan(0);
    for (const p of seen) expect(p).toBe(params);
  });

  it("the variational bound's model", async () => {
    const seen = await frozenOf(async () => vlbModelFor(denoiser, params, Int32Array.of(0, 1)));
    expect(seen).toEqual([params]);
  });
});
