/** Per-channel loss weights (losses.ts `channelWeights`, `--channel-weights`): the objective, the config, the CLI. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainSettings } from "../../src/cli/train.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { ConfigFieldError, checkTrainConfigFields } from "../../src/train/config.js";
import {
  checkChannelWeights,
  type DenoiserFn,
  diffusionLoss,
  drawLossInputs,
  type LossConfig,
  lossTables,
} from "../../src/train/losses.js";
import { runTraining } from "../../src/train/run-node.js";
import { lossConfigFor } from "../../src/train/trainer.js";
import { lcg } from "../helpers.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

const B = 3;
const SHAPE = [B, 3, 2, 2]; // 3 channels of 4 entries
const PER = 12;
const x0 = Float32Array.from(lcg(5, B * PER));
const zeroModel: DenoiserFn<Params> = (_p, x) => T.mul(x, 0);
const base: LossConfig = { loss: "l2", weighting: "none", prediction: "epsilon" };
const tables = lossTables({ beta_schedule: "linear", num_train_timesteps: 50 }, base);
const batch = drawLossInputs(makeKey(9), x0, SHAPE, tables, base);
const noise = batch.noise.values();

/** mean_i sum_k w_k mean_{j in k} eps_ij^2 / sum_k w_k: the zero model's loss, by hand. */
function byHand(w: number[]): number {
  const total = w.reduce((a, b) => a + b, 0);
  let loss = 0;
  for (let i = 0; i < B; i++) {
    for (let k = 0; k < 3; k++) {
      let s = 0;
      for (let j = 0; j < 4; j++) s += noise[i * PER + k * 4 + j]! ** 2;
      loss += (w[k]! * (s / 4)) / total;
    }
  }
  return loss / B;
}

describe("channelWeights in the diffusion loss", () => {
  it("weights each channel's mean penalty by its share of the weights", () => {
    const w = [2, 0.5, 0];
    const got = diffusionLoss(zeroModel, { ...base, channelWeights: w })({}, batch).item();
    expect(got).toBeCloseTo(byHand(w), 5);
    // Channel 2 has weight 0: only channels 0 and 1 count, 4 : 1.
    expect(got).not.toBeCloseTo(byHand([1, 1, 1]), 3);
  });

  it("equal weights (any scale) give the plain per-entry mean", () => {
    const plain = diffusionLoss(zeroModel, base)({}, batch).item();
    expect(plain).toBeCloseTo(byHand([1, 1, 1]), 5);
    const equal = diffusionLoss(zeroModel, { ...base, channelWeights: [7, 7, 7] })({}, batch).item();
    expect(equal).toBeCloseTo(plain, 5);
  });

  it("rejects a weight count that differs from the channels, negative or all-zero weights", () => {
    const loss = (w: number[]) => () => diffusionLoss(zeroModel, { ...base, channelWeights: w })({}, batch);
    expect(loss([1, 1])).toThrow(/2 weights .* 3 channels/);
    expect(loss([1, -1, 1])).toThrow(/>= 0/);
    expect(loss([0, 0, 0])).toThrow(/at least one of them > 0/);
    expect(() => checkChannelWeights([1, Number.NaN], 2, "w")).toThrow(/^w: /);
  });
});

describe("channelWeights in the run config", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("is a list of finite numbers >= 0 and reaches the loss config", () => {
    expect(checkTrainConfigFields({ channelWeights: [1, 0.1] }).channelWeights).toEqual([1, 0.1]);
    expect(() => checkTrainConfigFields({ channelWeights: [1, -2] })).toThrow(ConfigFieldError);
    expect(() => checkTrainConfigFields({ channelWeights: "1,2" })).toThrow(/channelWeights/);
    const config = { loss: "l2", weighting: "none", predictionType: "epsilon", offsetNoise: 0 };
    const withW = lossConfigFor({ ...config, channelWeights: [3, 1] } as never, null);
    expect(withW.channelWeights).toEqual([3, 1]);
    expect(lossConfigFor({ ...config, channelWeights: [] } as never, null).channelWeights).toBeUndefined();
  });

  it("--channel-weights 1,0.1 parses to numbers; a non-number is named", async () => {
    const { partial } = await trainSettings({ dataset: "moons", channelWeights: ["1", "0.1", "1e-2"] });
    expect(partial.channelWeights).toEqual([1, 0.1, 0.01]);
    await expect(trainSettings({ dataset: "moons", channelWeights: ["1", "x"] })).rejects.toThrow(
      /channelWeights.*"x"/,
    );
  });

  it("a run on vector data with channel weights fails before training", async () => {
    const out = mkdtempSync(path.join(tmpdir(), "cw-"));
    dirs.push(out);
    await expect(
      runTraining({ dataset: "moons", limit: 64, steps: 2, out, channelWeights: [1, 1] }),
    ).rejects.toThrow(/channelWeights.*image data/);
  });
});
