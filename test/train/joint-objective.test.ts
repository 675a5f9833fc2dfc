import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ImageDataset } from "../../src/data/types.js";
import { JointUNet } from "../../src/models/joint-unet.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { resolveTrainConfig } from "../../src/train/config.js";
import {
  drawCleanKinds,
  drawJointInputs,
  JOINT_DEFAULTS,
  jointLoss,
  jointObjective,
  oneHotPm,
} from "../../src/train/joint-objective.js";
import { lossTables } from "../../src/train/losses.js";
import { getPreset } from "../../src/train/presets.js";
import { runTraining } from "../../src/train/run-node.js";
import { initialState, Trainer, vpSchedulerConfig } from "../../src/train/trainer.js";
import { TINY_JOINT } from "../models/joint-fixture.js";

const tables = lossTables(
  { beta_schedule: "squaredcos_cap_v2", num_train_timesteps: 1000 },
  { loss: "l2", weighting: "none", prediction: "epsilon" },
);

describe("the joint objective's draws", () => {
  it("one-hots in +-1, and a label out of range is an error naming it", () => {
    expect(Array.from(oneHotPm([2, 0], 3))).toEqual([-1, -1, 1, 1, -1, -1]);
    expect(() => oneHotPm([0, 3], 3)).toThrow(/labels\[1\] is 3; expected an integer class in 0..2/);
  });

  it("clean label and clean image each come with their probability (10% each of 20000)", () => {
    const kinds = drawCleanKinds(makeKey(1), 20000, {
      labelWeight: 1,
      cleanLabelProb: 0.1,
      cleanImageProb: 0.1,
    });
    const frac = (k: number) => kinds.filter((v) => v === k).length / kinds.length;
    expect(frac(1)).toBeGreaterThan(0.09);
    expect(frac(1)).toBeLessThan(0.11);
    expect(frac(2)).toBeGreaterThan(0.09);
    expect(frac(2)).toBeLessThan(0.11);
  });

  it("independent t_x, t_y; a clean modality has t = 0, alpha 1, sigma 0 and loss weight 0", () => {
    const B = 400;
    const x0 = new Float32Array(B * 64).fill(0.5);
    const labels = Int32Array.from({ length: B }, (_, i) => i % 3);
    const b = drawJointInputs(makeKey(2), x0, [B, 1, 8, 8], labels, 3, tables, JOINT_DEFAULTS);
    const tx = b.tx.values();
    const ty = b.ty.values();
    const wx = b.weightX.values();
    const wy = b.weightY.values();
    let differ = 0;
    for (let i = 0; i < B; i++) {
      if (tx[i] !== ty[i]) differ++;
      if (wy[i] === 0) {
        expect(ty[i]).toBe(0);
        expect(b.alphaY.values()[i]).toBe(1);
        expect(b.sigmaY.values()[i]).toBe(0);
      }
      if (wx[i] === 0) {
        expect(tx[i]).toBe(0);
        expect(b.sigmaX.values()[i]).toBe(0);
      }
      expect(wx[i] === 0 && wy[i] === 0).toBe(false);
    }
    expect(differ).toBeGreaterThan(B * 0.9);
    expect(Array.from(b.y0.values().slice(0, 6))).toEqual([1, -1, -1, -1, 1, -1]);
  });

  it("a batch without labels is refused, naming the need", () => {
    const m = new JointUNet(TINY_JOINT);
    const obj = jointObjective(m, tables, JOINT_DEFAULTS);
    const state = initialState(m.parameters(), 0);
    expect(() =>
      obj.draw(makeKey(0), { x: new Float32Array(64), shape: [1, 1, 8, 8], labels: undefined }, state),
    ).toThrow(/no labels/);
  });

  it("the loss is finite, and lambda = 0 drops the label term", () => {
    const m = new JointUNet(TINY_JOINT);
    const B = 4;
    const b = drawJointInputs(
      makeKey(3),
      new Float32Array(B * 64),
      [B, 1, 8, 8],
      new Int32Array(B),
      3,
      tables,
      {
        ...JOINT_DEFAULTS,
        cleanLabelProb: 0,
        cleanImageProb: 0,
      },
    );
    const full = jointLoss(m, JOINT_DEFAULTS)(m.parameters(), b).item();
    const imageOnly = jointLoss(m, { ...JOINT_DEFAULTS, labelWeight: 0 })(m.parameters(), b).item();
    expect(Number.isFinite(full)).toBe(true);
    expect(full).toBeGreaterThan(imageOnly);
  });

  it('label_prediction "sample": the label term is the MSE of the head\'s output against y0, not eps_y', () => {
    const m = new JointUNet({ ...TINY_JOINT, label_head: "pyramid", label_prediction: "sample" });
    const B = 4;
    const s = { ...JOINT_DEFAULTS, cleanLabelProb: 0, cleanImageProb: 0 };
    const b = drawJointInputs(
      makeKey(4),
      new Float32Array(B * 64),
      [B, 1, 8, 8],
      new Int32Array(B),
      3,
      tables,
      s,
    );
    const p = m.parameters();
    const label = jointLoss(m, s)(p, b).item() - jointLoss(m, { ...s, labelWeight: 0 })(p, b).item();
    const yt = T.add(T.mul(T.reshape(b.alphaY, [B, 1]), b.y0), T.mul(T.reshape(b.sigmaY, [B, 1]), b.noiseY));
    const xt = T.add(
      T.mul(T.reshape(b.alphaX, [B, 1, 1, 1]), b.x0),
      T.mul(T.reshape(b.sigmaX, [B, 1, 1, 1]), b.noiseX),
    );
    const head = m.forward(p, xt, b.tx, yt, b.ty).epsY;
    const mse = (target: T.Tensor) => {
      const d = T.sub(head, target);
      return T.mean(T.mul(d, d)).item();
    };
    expect(label / s.labelWeight).toBeCloseTo(mse(b.y0), 4);
    expect(Math.abs(mse(b.y0) - mse(b.noiseY))).toBeGreaterThan(1e-2);
  });
});

describe("the joint objective in the Trainer (compiled step)", () => {
  T.setDefaultRuntime(nodeOrt);
  it("trains a tiny JointUNet: finite losses, and the loss falls on a fixed batch", async () => {
    const N = 16;
    const images = new Float32Array(N * 64).map((_, i) => (Math.floor(i / 64) % 3) / 2 - 0.5);
    const train: ImageDataset = {
      kind: "image",
      name: "tiny",
      images,
      shape: [1, 8, 8],
      labels: Int32Array.from({ length: N }, (_, i) => i % 3),
      numClasses: 3,
    };
    const { config } = resolveTrainConfig(
      { dataset: "tiny", objective: "joint", steps: 30, batchSize: 16, lr: 3e-3, warmupSteps: 0, threads: 1 },
      () => getPreset("unet28"),
    );
    const m = new JointUNet(TINY_JOINT);
    const t = lossTables(vpSchedulerConfig(config, true), {
      loss: "l2",
      weighting: "none",
      prediction: "epsilon",
    });
    const trainer = new Trainer(
      { config, train, valid: train, nullClass: 3, objective: jointObjective(m, t, JOINT_DEFAULTS) },
      initialState(m.parameters(), 0),
    );
    const before = await trainer.validationLoss();
    for (let i = 0; i < 30; i++) expect(Number.isFinite((await trainer.trainOneStep()).loss)).toBe(true);
    expect(trainer.step).toBe(30);
    // validation: the EMA weights on fixed noise (the EMA warms up, so it moves with the weights early on)
    expect(await trainer.validationLoss()).toBeLessThan(before!);
  }, 120_000);
});

describe("the joint objective's config fields", () => {
  const resolve = (p: Record<string, unknown>) => resolveTrainConfig(p, () => getPreset("unet28"));
  it("default to lambda 4, p 0.25 and no SNR weighting (the objective's own defaults agree)", () => {
    const { config } = resolve({ objective: "joint" });
    expect([config.jointLabelWeight, config.jointCleanProb, config.weighting]).toEqual([4, 0.25, "none"]);
    expect(JOINT_DEFAULTS).toEqual({ labelWeight: 4, cleanLabelProb: 0.25, cleanImageProb: 0.25 });
  });
  it("errors name the field: set without objective joint, p above 0.5, lambda not positive", () => {
    expect(() => resolve({ jointLabelWeight: 2 })).toThrow(
      /field "jointLabelWeight" is 2 but "objective" is "diffusion"/,
    );
    expect(() => resolve({ objective: "joint", jointCleanProb: 0.6 })).toThrow(
      /field "jointCleanProb" is 0.6; expected at most 0.5/,
    );
    expect(() => resolve({ objective: "joint", jointLabelWeight: 0 })).toThrow(/jointLabelWeight/);
  });
  it("a run on data without 28x28 labelled images is refused before training, naming the dataset", async () => {
    const out = mkdtempSync(path.join(tmpdir(), "diffuse-joint-run-"));
    try {
      await expect(runTraining({ dataset: "moons", objective: "joint", out, steps: 1 })).rejects.toThrow(
        /field "dataset" is "moons" but "objective" is "joint"; expected a labelled 28x28 dataset/,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
