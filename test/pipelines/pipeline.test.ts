import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodePng } from "../../src/io/png.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { generate } from "../../src/pipelines/generate.js";
import { saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import { DiffusionPipeline, PIPELINE_DEFAULTS } from "../../src/pipelines/pipeline.js";
import { loadPipeline } from "../../src/pipelines/pipeline-node.js";
import { createSchedulerByName } from "../../src/pipelines/samplers.js";
import { makeKey } from "../../src/random/index.js";
import { setDefaultRuntime } from "../../src/tensor/compile.js";

setDefaultRuntime(nodeOrt);

const tmp = mkdtempSync(path.join(tmpdir(), "diffuse-pipeline-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 100,
  beta_schedule: "linear",
  beta_start: 1e-4,
  beta_end: 0.02,
  prediction_type: "epsilon",
};

/** A class-conditional MLP on 2-D points (3 classes + the null class), random weights, saved. */
async function savedConditional(): Promise<string> {
  const dir = path.join(tmp, "cond");
  const config = {
    _class_name: "MLPDenoiser",
    in_features: 2,
    hidden_size: 16,
    num_layers: 1,
    num_class_embeds: 4,
  };
  const denoiser = denoiserFromConfig(config, makeKey(3));
  const info = {
    numClasses: 3,
    nullClass: 3,
    dataKind: "points" as const,
    normalization: { mean: [10, -5], std: [2, 4] },
  };
  await saveModelFolder(dir, denoiser, denoiser.module.parameters(), SCHEDULER, info);
  return dir;
}

describe("DiffusionPipeline", async () => {
  const dir = await savedConditional();
  const pipe = await loadPipeline(dir);

  it("samples as generate() does, with the defaults documented (labels 0,1,2 cyclic, guidance 2)", async () => {
    const out = await pipe.generate({ numSamples: 5, steps: 4, seed: 7, sampler: "ddim" });
    expect(out.samples.shape).toEqual([5, 2]);
    expect([...out.labels!]).toEqual([0, 1, 2, 0, 1]);
    const direct = await generate({
      denoiser: pipe.denoiser,
      params: pipe.params,
      scheduler: createSchedulerByName("ddim", { clip_sample: false, ...SCHEDULER }),
      steps: 4,
      numSamples: 5,
      seed: 7,
      labels: Int32Array.from([0, 1, 2, 0, 1]),
      guidanceScale: 2,
      nullClass: 3,
    });
    expect(out.values()).toEqual(direct.samples);
    // Guidance changes the samples; w = 1 is another result.
    const unguided = await pipe.generate({
      numSamples: 5,
      steps: 4,
      seed: 7,
      sampler: "ddim",
      guidanceScale: 1,
    });
    expect(unguided.values()).not.toEqual(out.values());
  });

  it("reports every step through onStep and maps points back to data units", async () => {
    const seen: number[] = [];
    const out = await pipe.generate({ labels: [2, 2], steps: 3, onStep: (i) => seen.push(i) });
    expect(seen).toEqual([1, 2, 3]);
    const v = out.values();
    const units = out.inDataUnits();
    expect(units[0]).toBeCloseTo(v[0]! * 2 + 10, 4);
    expect(units[3]).toBeCloseTo(v[3]! * 4 - 5, 4);
  });

  it("draws a cloud of points from an unconditional vector model by default, a grid of images otherwise", async () => {
    const denoiser = denoiserFromConfig(
      { _class_name: "MLPDenoiser", in_features: 2, hidden_size: 8 },
      makeKey(1),
    );
    const points = new DiffusionPipeline({
      denoiser,
      params: denoiser.module.parameters(),
      schedulerConfig: SCHEDULER,
    });
    expect(points.defaultNumSamples).toBe(PIPELINE_DEFAULTS.numPoints);
    const out = await points.generate({ steps: 2, sampler: "ddim" });
    expect(out.samples.shape).toEqual([PIPELINE_DEFAULTS.numPoints, 2]);
  });

  it("builds the same pipeline from the folder's bytes (the browser path)", async () => {
    const read = (f: string) =>
      JSON.parse(readFileSync(path.join(dir, f), "utf8")) as Record<string, unknown>;
    const fromFiles = DiffusionPipeline.fromFiles({
      config: read("unet/config.json"),
      weights: new Uint8Array(readFileSync(path.join(dir, "unet/diffusion_pytorch_model.safetensors"))),
      schedulerConfig: read("scheduler/scheduler_config.json"),
      modelIndex: read("model_index.json"),
    });
    expect(fromFiles.numClasses).toBe(3);
    const a = await pipe.generate({ labels: [0, 1], steps: 2, seed: 1 });
    const b = await fromFiles.generate({ labels: [0, 1], steps: 2, seed: 1 });
    expect(b.values()).toEqual(a.values());
  });

  it("writes a PNG (a scatter plot for points)", async () => {
    const out = await pipe.generate({ numSamples: 8, steps: 2 });
    const image = decodePng(await out.toPng());
    expect([image.width, image.height, image.channels]).toEqual([512, 512, 3]);
    expect(image.data.some((b) => b < 128)).toBe(true); // points were drawn on the white canvas
  });

  it("rejects labels that are not classes, naming the index and the range", async () => {
    await expect(pipe.generate({ labels: [0, 3] })).rejects.toThrow(
      "labels[1] = 3 is not a class; expected an integer in [0, 2]",
    );
    await expect(pipe.generate({ labels: [0.5] })).rejects.toThrow(/labels\[0\] = 0.5/);
    await expect(pipe.generate({ sampler: "nope" })).rejects.toThrow(/unknown name "nope"/);
  });
});

describe("image pipelines", () => {
  it("return images clamped to [-1, 1] and a grid PNG", async () => {
    const unet = {
      sample_size: 8,
      in_channels: 1,
      out_channels: 1,
      block_out_channels: [8],
      down_block_types: ["DownBlock2D"],
      up_block_types: ["UpBlock2D"],
      layers_per_block: 1,
      norm_num_groups: 4,
    };
    const denoiser = denoiserFromConfig(unet, makeKey(5));
    const pipe = new DiffusionPipeline({
      denoiser,
      params: denoiser.module.parameters(),
      schedulerConfig: SCHEDULER,
    });
    await expect(pipe.generate({ labels: [1] })).rejects.toThrow(/unconditional/);
    await expect(pipe.generate({ guidanceScale: 3 })).rejects.toThrow(
      "guidanceScale: 3 needs a class-conditional model; this one is unconditional",
    );
    const out = await pipe.generate({ numSamples: 3, steps: 2, sampler: "euler" });
    expect(out.samples.shape).toEqual([3, 1, 8, 8]);
    expect(out.values().every((v) => v >= -1 && v <= 1)).toBe(true);
    const grid = decodePng(await out.toPng({ nrow: 3, padding: 1 }));
    expect([grid.width, grid.height, grid.channels]).toEqual([3 * 9 + 1, 10, 1]);
    expect(() => out.inDataUnits()).toThrow(/images/);
  });
});
