/**
 * Dropout in training: active in the compiled training step (masks drawn on the host from the batch's
 * key and fed to the graph), inactive in validation, EMA and sampling; and a run with dropout resumes
 * bit-exactly.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { loadCheckpoint } from "../../src/train/checkpoint-node.js";
import type { TrainConfig } from "../../src/train/config.js";
import { drawDropoutMasks, dropoutSites } from "../../src/train/dropout-masks.js";
import { diffusionLoss, drawLossInputs, type LossConfig, lossTables } from "../../src/train/losses.js";
import { readLog, runTraining } from "../../src/train/run-node.js";
import { rand } from "../helpers.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));
const root = mkdtempSync(path.join(tmpdir(), "diffuse-dropout-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = {
  image_channels: 1,
  base_channels: 8,
  channel_multipliers: [1, 2],
  num_res_blocks: 1,
  use_attention: [false, true],
  norm_num_groups: 4,
  num_heads: 2,
  sample_size: 8,
};
const model = (dropout: number) =>
  denoiserFromConfig({ _class_name: "TutorialUNet", ...TINY, dropout }, makeKey(5));
const CFG: LossConfig = { loss: "l2", weighting: "none", prediction: "epsilon" };
const SCHEDULE = { num_train_timesteps: 100, beta_schedule: "linear" };

describe("dropout in the compiled training loss", () => {
  const d = model(0.3);
  const params = d.module.parameters();
  const shape = [4, 1, 8, 8];
  const x0 = rand(1, shape).values() as Float32Array;
  const batch = drawLossInputs(makeKey(9), Float32Array.from(x0), shape, lossTables(SCHEDULE, CFG), CFG);
  const loss = T.compile(diffusionLoss(d.forward, CFG));
  const sites = dropoutSites(d, params, shape, false);

  it("finds one site per residual block, with the activation's shape", () => {
    // 1 down block per level (2), mid 2, up 2 per level (4)
    expect(sites.length).toBe(8);
    expect(sites[0]).toEqual({ path: "down_blocks.0.0.dropout", shape: [4, 8, 8, 8], p: 0.3 });
    expect(dropoutSites(model(0), params, shape, false)).toEqual([]);
  });

  it("reaches UNet2DModel's resnet dropout too (--model '{\"dropout\":0.1}' trains with it)", () => {
    const unet = denoiserFromConfig({
      sample_size: 8,
      in_channels: 1,
      out_channels: 1,
      block_out_channels: [8, 16],
      down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
      up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
      norm_num_groups: 4,
      attention_head_dim: 8,
      layers_per_block: 1,
      dropout: 0.1,
    });
    const found = dropoutSites(unet, unet.module.parameters(), shape, false);
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((s) => s.p === 0.1 && s.shape[0] === 4)).toBe(true);
  });

  it("is active: the loss depends on the masks' key, and matches the eager forward with the same masks", async () => {
    const m1 = drawDropoutMasks(makeKey(1), sites);
    const m2 = drawDropoutMasks(makeKey(2), sites);
    const l1 = (await loss(params, { ...batch, dropout: m1 })).item();
    const l2 = (await loss(params, { ...batch, dropout: m2 })).item();
    const l1again = (await loss(params, { ...batch, dropout: m1 })).item();
    const off = (await loss(params, batch)).item();
    expect(l1).not.toBe(l2);
    expect(l1).not.toBe(off);
    expect(l1again).toBe(l1);
    const eager = diffusionLoss(d.forward, CFG)(params, { ...batch, dropout: m1 }).item();
    expect(Math.abs(eager - l1)).toBeLessThan(1e-5 * Math.max(1, Math.abs(l1)));
  });

  it("is inactive without masks: deterministic and equal to the same weights at dropout 0", async () => {
    const off = await loss(params, batch);
    const zero = T.compile(diffusionLoss(model(0).forward, CFG));
    expect((await zero(params, batch)).item()).toBe(off.item());
    const xt = rand(3, shape);
    const t = T.tensor([1, 30, 60, 99], [4], "int32");
    const sample = T.compile((p: typeof params, x: T.Tensor, tt: T.Tensor) => d.forward(p, x, tt));
    const a = (await sample(params, xt, t)).toArray();
    expect((await sample(params, xt, t)).toArray()).toEqual(a);
    const b = model(0);
    const c = (
      await T.compile((p: typeof params, x: T.Tensor, tt: T.Tensor) => b.forward(p, x, tt))(params, xt, t)
    ).toArray();
    expect(c).toEqual(a);
  });
});

describe("a training run with dropout", () => {
  const RUN: Partial<TrainConfig> = {
    dataset: "mnist",
    limit: 48,
    validSize: 16,
    preset: "tutorial",
    model: {
      base_channels: 8,
      channel_multipliers: [1, 2],
      use_attention: [false, true],
      norm_num_groups: 4,
      num_heads: 2,
      dropout: 0.2,
    },
    steps: 4,
    batchSize: 4,
    warmupSteps: 1,
    logEvery: 1,
    checkpointEvery: 2,
    validEvery: 2,
    numSamples: 4,
    samplerSteps: 2,
    threads: 1,
  };
  const quiet = { progress: { write: () => true, isTTY: false } };
  const [dirA, dirB, dirC] = ["a", "b", "c"].map((n) => path.join(root, n)) as [string, string, string];

  beforeAll(async () => {
    await runTraining({ ...RUN, out: dirA }, quiet);
    await runTraining({ ...RUN, out: dirB }, { ...quiet, haltAfter: 3 });
    await runTraining({ ...RUN, out: dirB, resume: true }, quiet);
    await runTraining({ ...RUN, model: { ...RUN.model, dropout: 0 }, out: dirC }, quiet);
  }, 120_000);

  it("resumes bit-exactly", async () => {
    const strip = (r: Record<string, number>[]) => r.map(({ time: _t, ...rest }) => rest);
    expect(strip(await readLog(dirB))).toEqual(strip(await readLog(dirA)));
    const file = "unet/diffusion_pytorch_model.safetensors";
    expect(readFileSync(path.join(dirB, file)).equals(readFileSync(path.join(dirA, file)))).toBe(true);
    const [a, b] = await Promise.all([loadCheckpoint(dirA), loadCheckpoint(dirB)]);
    const leaves = (s: typeof a.state) => T.leaves([s.params, s.optState, s.ema]).map((t) => t.toArray());
    expect(leaves(b.state)).toEqual(leaves(a.state));
  });

  it("keeps the best model by validation loss in best/ (resume included)", async () => {
    const valid = (await readLog(dirB)).filter((r) => r.validLoss !== undefined);
    expect(valid.map((r) => r.step)).toEqual([2, 4]);
    const best = valid.reduce((a, r) => (r.validLoss! < a.validLoss! ? r : a));
    const index = JSON.parse(readFileSync(path.join(dirB, "best", "model_index.json"), "utf8"));
    expect(index._diffuse.validLoss).toBe(best.validLoss);
    expect(index._diffuse.steps).toBe(best.step);
  });

  it("trains with dropout (the losses differ from the same run at dropout 0 from the first step)", async () => {
    const losses = async (dir: string) =>
      (await readLog(dir)).filter((r) => r.loss !== undefined).map((r) => r.loss);
    const [a, c] = [await losses(dirA), await losses(dirC)];
    expect(a.length).toBe(4);
    expect(a[0]).not.toBe(c[0]);
  });
});
