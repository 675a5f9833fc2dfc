/**
 * `diffuse train-classifier` end to end on tiny MNIST data (a few steps of a tiny classifier), resume
 * equality, `diffuse sample --classifier` on a tiny unconditional model, and the bad-input errors.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import { makeKey } from "../../src/random/index.js";
import { setDefaultRuntime } from "../../src/tensor/index.js";
import { runClassifierTraining } from "../../src/train/classifier-run-node.js";
import { captureStdio } from "./capture.js";

setDefaultRuntime(nodeOrt);

const root = mkdtempSync(path.join(tmpdir(), "diffuse-train-classifier-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const { out, err } = captureStdio();

const TINY = {
  block_out_channels: [8, 8],
  down_block_types: ["DownBlock2D", "DownBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
};
const common = [
  "--dataset",
  "mnist",
  "--limit",
  "64",
  "--batch-size",
  "8",
  "--warmup-steps",
  "1",
  "--valid-size",
  "16",
  "--levels",
  "0,500,999",
  "--classifier-config",
  JSON.stringify(TINY),
  "--checkpoint-every",
  "2",
  "--threads",
  "1",
];

describe("diffuse train-classifier", () => {
  const a = path.join(root, "a");
  const b = path.join(root, "b");

  it("trains, reports held-out accuracy per noise level, writes the classifier folder", async () => {
    expect(await main(["train-classifier", ...common, "--steps", "4", "--out", a])).toBe(0);
    const result = JSON.parse(out.join("").trim().split("\n").pop()!);
    expect(result.step).toBe(4);
    expect(result.levels).toEqual([0, 500, 999]);
    const report = JSON.parse(readFileSync(path.join(a, "accuracy.json"), "utf8"));
    expect(report.levels).toEqual([0, 500, 999]);
    expect(report.heldOut).toBe(16);
    for (const v of report.accuracy) expect(v >= 0 && v <= 1).toBe(true);
    const config = JSON.parse(readFileSync(path.join(a, "config.json"), "utf8"));
    expect(config._class_name).toBe("NoiseConditionedClassifier");
    expect(config.num_classes).toBe(10);
    const sched = JSON.parse(readFileSync(path.join(a, "scheduler_config.json"), "utf8"));
    expect(sched.beta_schedule).toBe("squaredcos_cap_v2");
    expect(err.join("")).toMatch(/held-out accuracy \(16 examples\): t=0: /);
  });

  it("resumes bit-exactly: halted at step 2 and resumed to 4 equals the straight run", async () => {
    const halted = await runClassifierTraining(
      {
        out: b,
        dataset: "mnist",
        limit: 64,
        batchSize: 8,
        warmupSteps: 1,
        validSize: 16,
        levels: [0, 500, 999],
        model: TINY,
        checkpointEvery: 2,
        threads: 1,
        steps: 4,
      },
      { haltAfter: 2, progress: { write: () => true } },
    );
    expect(halted.halted).toBe(true);
    expect(await main(["train-classifier", "--out", b, "--resume", "--steps", "4"])).toBe(0);
    const wa = await readSafetensorsFile(path.join(a, "diffusion_pytorch_model.safetensors"));
    const wb = await readSafetensorsFile(path.join(b, "diffusion_pytorch_model.safetensors"));
    expect([...wb.tensors.keys()]).toEqual([...wa.tensors.keys()]);
    for (const [name, t] of wa.tensors) expect([...wb.tensors.get(name)!.data], name).toEqual([...t.data]);
    expect(readFileSync(path.join(b, "accuracy.json"), "utf8")).toBe(
      readFileSync(path.join(a, "accuracy.json"), "utf8"),
    );
  });

  it("refuses a resume that changes the run, a missing --out and an existing run", async () => {
    expect(await main(["train-classifier", "--out", b, "--resume", "--batch-size", "4"])).toBe(2);
    expect(err.join("")).toMatch(/resume: field "batchSize" is 4 but the checkpoint's run has 8/);
    expect(await main(["train-classifier", "--dataset", "mnist"])).toBe(2);
    expect(err.join("")).toMatch(/--out DIR is required/);
    expect(await main(["train-classifier", ...common, "--steps", "4", "--out", a])).toBe(2);
    expect(err.join("")).toMatch(/already holds a training run/);
  });

  describe("diffuse sample --classifier", async () => {
    const model = path.join(root, "uncond");
    const denoiser = denoiserFromConfig(
      {
        _class_name: "UNet2DModel",
        sample_size: 28,
        in_channels: 1,
        out_channels: 1,
        block_out_channels: [8, 8],
        down_block_types: ["DownBlock2D", "DownBlock2D"],
        up_block_types: ["UpBlock2D", "UpBlock2D"],
        norm_num_groups: 4,
        layers_per_block: 1,
      },
      makeKey(1),
    );
    await saveModelFolder(
      model,
      denoiser,
      denoiser.module.parameters(),
      { _class_name: "DDPMScheduler", num_train_timesteps: 1000, beta_schedule: "squaredcos_cap_v2" },
      { dataset: "mnist", dataKind: "image" },
    );

    it("guides an unconditional model; the safetensors output carries the requested labels", async () => {
      const file = path.join(root, "guided.safetensors");
      const argv = ["sample", "--model", model, "--classifier", a, "--classifier-scale", "3"];
      const code = await main([
        ...argv,
        "--class-labels",
        "4,7",
        "--num-samples",
        "2",
        "--steps",
        "2",
        "--sampler",
        "ddim",
        "--out",
        file,
      ]);
      expect(code, err.join("")).toBe(0);
      const st = await readSafetensorsFile(file);
      expect(st.tensors.get("samples")!.shape).toEqual([2, 1, 28, 28]);
      expect([...st.tensors.get("labels")!.data]).toEqual([4, 7]);
    });

    it("bad input: not a classifier, the scale alone, a label beyond the classifier's classes", async () => {
      const file = path.join(root, "never.safetensors");
      expect(
        await main(["sample", "--model", model, "--classifier", path.join(model, "unet"), "--out", file]),
      ).toBe(1);
      expect(err.join("")).toMatch(
        /unet\/config\.json: field "_class_name" is "UNet2DModel"; expected "NoiseConditionedClassifier"/,
      );
      expect(await main(["sample", "--model", model, "--classifier-scale", "2", "--out", file])).toBe(2);
      expect(err.join("")).toMatch(/--classifier-scale: needs --classifier DIR/);
      expect(
        await main(["sample", "--model", model, "--classifier", a, "--class-labels", "10", "--out", file]),
      ).toBe(2);
      expect(err.join("")).toMatch(/--class-labels: "10" is not a class/);
      expect(() => readFileSync(file)).toThrow();
    });
  });
});
