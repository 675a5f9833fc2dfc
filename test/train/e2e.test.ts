/**
 * End to end on a tiny MNIST subset and a tiny U-Net: train -> checkpoint -> "crash" -> resume gives
 * the same losses and weights as an uninterrupted run; then sample (PNG and safetensors) and load the
 * saved diffusers folder with the project's loader.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSample } from "../../src/cli/sample.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import { decodePng } from "../../src/io/png.js";
import { loadPretrained } from "../../src/models/pretrained-node.js";
import { UNet2DModel } from "../../src/models/unet2d.js";
import { nodeOrt } from "../../src/onnx/node.js";
import * as T from "../../src/tensor/index.js";
import { loadCheckpoint } from "../../src/train/checkpoint-node.js";
import type { TrainConfig } from "../../src/train/config.js";
import { readLog, runTraining } from "../../src/train/run-node.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-e2e-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(() => T.setDefaultRuntime(nodeOrt));

const TINY_UNET = {
  block_out_channels: [8, 16],
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
  norm_num_groups: 4,
  attention_head_dim: 8,
  layers_per_block: 1,
};
const RUN: Partial<TrainConfig> = {
  dataset: "mnist",
  limit: 48,
  validSize: 16,
  preset: "unet28-cond",
  model: TINY_UNET,
  steps: 6,
  batchSize: 8,
  warmupSteps: 2,
  logEvery: 1,
  checkpointEvery: 2,
  numSamples: 10,
  sampler: "ddim",
  samplerSteps: 2,
  threads: 1,
};
const quiet = { progress: { write: () => true, isTTY: false } };
const dirA = path.join(root, "uninterrupted");
const dirB = path.join(root, "crashed");
const withoutTime = (records: Record<string, number>[]) => records.map(({ time: _t, ...r }) => r);

describe("train -> crash -> resume -> sample -> load", () => {
  beforeAll(async () => {
    await runTraining({ ...RUN, out: dirA }, quiet);
    // Step 3 runs after the step-2 checkpoint, then the process "dies" before step 4's.
    const halted = await runTraining({ ...RUN, out: dirB }, { ...quiet, haltAfter: 3 });
    expect(halted.halted).toBe(true);
    expect(existsSync(path.join(dirB, "unet"))).toBe(false);
    // A write torn by the crash leaves a temporary file; resume must not read it.
    writeFileSync(path.join(dirB, ".checkpoint.safetensors.deadbeef.tmp"), "torn");
    await runTraining({ ...RUN, out: dirB, resume: true }, quiet);
  }, 60_000);

  it("logs the same losses, learning rates and gradient norms as the uninterrupted run", async () => {
    const a = withoutTime(await readLog(dirA));
    const b = withoutTime(await readLog(dirB));
    expect(a.filter((r) => r.loss !== undefined).map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b).toEqual(a);
    expect(a.every((r) => Number.isFinite(r.loss ?? r.validLoss))).toBe(true);
  });

  it("ends with bit-identical weights, EMA and optimizer state", async () => {
    const file = "unet/diffusion_pytorch_model.safetensors";
    expect(readFileSync(path.join(dirB, file)).equals(readFileSync(path.join(dirA, file)))).toBe(true);
    const [a, b] = await Promise.all([loadCheckpoint(dirA), loadCheckpoint(dirB)]);
    expect(b.state.step).toBe(6);
    const leaves = (s: typeof a.state) => T.leaves([s.params, s.optState, s.ema]).map((t) => t.toArray());
    expect(leaves(b.state)).toEqual(leaves(a.state));
    expect(b.state.loader).toEqual(a.state.loader);
    expect(b.state.rng).toEqual(a.state.rng);
    expect(existsSync(path.join(dirB, ".checkpoint.safetensors.deadbeef.tmp"))).toBe(false);
  });

  it("saves a diffusers folder that the project's loader reads (EMA weights)", async () => {
    const model = await loadPretrained(path.join(dirA, "unet"));
    expect(model).toBeInstanceOf(UNet2DModel);
    expect((model as UNet2DModel).config.num_class_embeds).toBe(11);
    const { state } = await loadCheckpoint(dirA);
    for (const [name, t] of Object.entries(model.parameters())) {
      expect(t.toArray(), name).toEqual(state.ema.params[name]!.toArray());
    }
    const index = JSON.parse(readFileSync(path.join(dirA, "model_index.json"), "utf8"));
    expect(index).toMatchObject({ _class_name: "DDPMPipeline", unet: ["diffusers", "UNet2DModel"] });
    expect(index._diffuse).toMatchObject({ numClasses: 10, nullClass: 10 });
    const sched = JSON.parse(readFileSync(path.join(dirA, "scheduler/scheduler_config.json"), "utf8"));
    expect(sched).toMatchObject({ _class_name: "DDPMScheduler", beta_schedule: "squaredcos_cap_v2" });
    expect(decodePng(readFileSync(path.join(dirA, "samples.png"))).width).toBeGreaterThan(28 * 10);
  });

  it("samples to a PNG grid and to a safetensors tensor with labels, deterministically", async () => {
    const base = { model: dirA, sampler: "ddim", steps: 3, seed: 1, threads: 1, guidanceScale: 2 };
    const png = path.join(root, "s.png");
    await runSample({ ...base, classLabels: ["3", "7"], numSamples: 4, out: png });
    const img = decodePng(readFileSync(png));
    expect([img.width, img.height, img.channels]).toEqual([2 + 2 * 30, 2 + 2 * 30, 1]);

    const st = path.join(root, "s.safetensors");
    const r = await runSample({ ...base, classLabels: ["3", "7"], numSamples: 4, out: st });
    expect(r.shape).toEqual([4, 1, 28, 28]);
    const { tensors } = await readSafetensorsFile(st);
    const samples = tensors.get("samples")!;
    expect(samples.shape).toEqual([4, 1, 28, 28]);
    expect(Array.from(tensors.get("labels")!.data as Int32Array)).toEqual([3, 7, 3, 7]);
    const values = samples.data as Float32Array;
    expect(values.every((v) => v >= -1 && v <= 1)).toBe(true);

    await runSample({ ...base, classLabels: ["3", "7"], numSamples: 4, out: st });
    expect((await readSafetensorsFile(st)).tensors.get("samples")!.data).toEqual(values);
  });

  it("refuses to overwrite a run without --resume and to change the run's settings on resume", async () => {
    await expect(runTraining({ ...RUN, out: dirA }, quiet)).rejects.toThrow(/already holds a training run/);
    await expect(runTraining({ ...RUN, out: dirA, lr: 0.5, resume: true }, quiet)).rejects.toThrow(
      /field "lr" is 0.5 but the checkpoint's run has/,
    );
  });
});

describe("gradient accumulation", () => {
  it("trains with several micro-batches per optimizer step", async () => {
    const out = path.join(root, "accum");
    const r = await runTraining(
      {
        ...RUN,
        preset: "mlp",
        model: {},
        dataset: "moons",
        limit: 200,
        steps: 3,
        gradAccum: 2,
        out,
        numSamples: 50,
      },
      quiet,
    );
    expect(r.step).toBe(3);
    const log = (await readLog(out)).filter((x) => x.loss !== undefined);
    expect(log.map((x) => x.step)).toEqual([1, 2, 3]);
    // 2 micro-batches of 8 per step: the loader has handed out 48 examples.
    expect((await loadCheckpoint(out)).state.loader).toEqual({ epoch: 0, index: 48 });
  });
});
