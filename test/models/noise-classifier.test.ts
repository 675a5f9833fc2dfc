import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/io/input-error.js";
import { ConfigError } from "../../src/models/config-fields.js";
import { NoiseConditionedClassifier } from "../../src/models/noise-classifier.js";
import { savePretrained } from "../../src/models/pretrained-node.js";
import { UNet2DModel } from "../../src/models/unet2d.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { loadClassifierFolder, saveClassifierFolder } from "../../src/pipelines/classifier-folder-node.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { rand } from "../helpers.js";
import { TINY_CLASSIFIER } from "./classifier-fixture.js";

T.setDefaultRuntime(nodeOrt);

const tmp = mkdtempSync(path.join(tmpdir(), "diffuse-classifier-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SCHEDULE = { num_train_timesteps: 100, beta_schedule: "linear", beta_start: 1e-4, beta_end: 0.02 };

describe("NoiseConditionedClassifier", () => {
  const model = new NoiseConditionedClassifier(TINY_CLASSIFIER, { key: makeKey(1) });

  it("maps [B, C, H, W] and timesteps to logits [B, num_classes]", () => {
    const logits = model.forward(model.parameters(), rand(1, [2, 1, 8, 8]), T.tensor([3, 70], [2]));
    expect(logits.shape).toEqual([2, 3]);
    expect([...logits.values()].every(Number.isFinite)).toBe(true);
    // the timestep matters (the time embedding reaches every resnet)
    const other = model.forward(model.parameters(), rand(1, [2, 1, 8, 8]), T.tensor([50, 10], [2]));
    expect(Math.max(...[...logits.values()].map((v, i) => Math.abs(v - other.values()[i]!)))).toBeGreaterThan(
      1e-6,
    );
  });

  it("shares UNet2DModel's parameter names for the encoder; the head is classifier.*", () => {
    const unet = new UNet2DModel({
      sample_size: 8,
      in_channels: 1,
      out_channels: 1,
      block_out_channels: [8, 8],
      down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
      up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
      layers_per_block: 1,
      attention_head_dim: 8,
      norm_num_groups: 4,
    });
    const unetShapes = new Map(unet.parameterSpecs().map((s) => [s.name, s.shape.join("x")]));
    const specs = model.parameterSpecs();
    const head = specs.filter((s) => s.name.startsWith("classifier."));
    expect(head.map((s) => [s.name, s.shape])).toEqual([
      ["classifier.weight", [3, 8]],
      ["classifier.bias", [3]],
    ]);
    for (const s of specs.filter((s) => !s.name.startsWith("classifier."))) {
      expect(unetShapes.get(s.name), s.name).toBe(s.shape.join("x"));
    }
    for (const n of [
      "time_embedding.linear_1.weight",
      "conv_in.weight",
      "mid_block.attentions.0.to_q.weight",
    ]) {
      expect(
        specs.some((s) => s.name === n),
        n,
      ).toBe(true);
    }
    expect(specs.some((s) => s.name.startsWith("up_blocks"))).toBe(false);
  });

  it("refuses bad configs naming the field", () => {
    expect(() => new NoiseConditionedClassifier({ ...TINY_CLASSIFIER, num_classes: 1 })).toThrow(
      /NoiseConditionedClassifier config: field "num_classes" is 1/,
    );
    expect(() => new NoiseConditionedClassifier({ ...TINY_CLASSIFIER, sample_size: 7 })).toThrow(ConfigError);
    expect(
      () => new NoiseConditionedClassifier({ ...TINY_CLASSIFIER, down_block_types: ["DownBlock2D"] }),
    ).toThrow(/down_block_types/);
  });

  it("saves and loads a folder: same config, same logits", async () => {
    const dir = path.join(tmp, "round-trip");
    const params = model.initParameters(makeKey(9));
    await saveClassifierFolder(dir, model, params, SCHEDULE, { "accuracy.json": { levels: [0] } });
    const loaded = await loadClassifierFolder(dir, { exampleShape: [1, 8, 8], schedulerConfig: SCHEDULE });
    expect(loaded.classifier.toConfig()).toEqual(model.toConfig());
    expect(loaded.schedulerConfig).toEqual(SCHEDULE);
    const x = rand(4, [2, 1, 8, 8]);
    const t = T.tensor([1, 99], [2]);
    expect([...loaded.classifier.forward(loaded.params, x, t).values()]).toEqual([
      ...model.forward(params, x, t).values(),
    ]);
  });

  describe("bad classifier folders: clear errors naming the file and both values", async () => {
    const dir = path.join(tmp, "good");
    await saveClassifierFolder(dir, model, model.parameters(), SCHEDULE);

    it("a folder that is not a classifier (a UNet2DModel)", async () => {
      const unetDir = path.join(tmp, "unet");
      const unet = new UNet2DModel({
        sample_size: 8,
        in_channels: 1,
        out_channels: 1,
        block_out_channels: [8],
        down_block_types: ["DownBlock2D"],
        up_block_types: ["UpBlock2D"],
        norm_num_groups: 4,
      });
      await savePretrained(unet, null, unetDir);
      const err = await loadClassifierFolder(unetDir).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toContain(path.join(unetDir, "config.json"));
      expect(err.message).toMatch(/"_class_name" is "UNet2DModel"; expected "NoiseConditionedClassifier"/);
    });

    it("a folder without config.json", async () => {
      await expect(loadClassifierFolder(path.join(tmp, "nothing"))).rejects.toThrow(/has no config.json/);
    });

    it("another image size or channel count", async () => {
      await expect(loadClassifierFolder(dir, { exampleShape: [1, 16, 16] })).rejects.toThrow(
        /config\.json: the classifier takes examples of shape \[1, 8, 8\].*the model makes \[1, 16, 16\]/,
      );
      await expect(loadClassifierFolder(dir, { exampleShape: [3, 8, 8] })).rejects.toThrow(/\[3, 8, 8\]/);
    });

    it("another number of classes", async () => {
      await expect(loadClassifierFolder(dir, { exampleShape: [1, 8, 8], numClasses: 10 })).rejects.toThrow(
        /field "num_classes" is 3 but the model has 10 classes/,
      );
    });

    it("another noise schedule", async () => {
      const other = { ...SCHEDULE, beta_schedule: "squaredcos_cap_v2" };
      await expect(
        loadClassifierFolder(dir, {
          exampleShape: [1, 8, 8],
          schedulerConfig: other,
          schedulerSource: "m/s.json",
        }),
      ).rejects.toThrow(
        /scheduler_config\.json: the classifier was trained on noise schedule "linear".*"squaredcos_cap_v2"/,
      );
    });

    it("weights of another shape", async () => {
      const bad = path.join(tmp, "bad-weights");
      await saveClassifierFolder(bad, model, model.parameters(), SCHEDULE);
      const cfg = { ...model.toConfig(), num_classes: 4 };
      writeFileSync(path.join(bad, "config.json"), JSON.stringify(cfg));
      await expect(loadClassifierFolder(bad)).rejects.toThrow(/diffusion_pytorch_model\.safetensors/);
    });
  });
});
