/**
 * `diffuse train-vae` end to end on tiny Fashion-MNIST data (a tiny autoencoder, a few steps): the
 * diffusers AutoencoderKL folder with a data-set scaling_factor, the held-out report and grid,
 * bit-exact resume, the JSON config, and bad input.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import { decodePng } from "../../src/io/png.js";
import { loadPretrained } from "../../src/models/pretrained-node.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { setDefaultRuntime } from "../../src/tensor/index.js";
import { runVaeTraining } from "../../src/train/vae-run-node.js";
import { announceSkip, FASHION_MNIST } from "../optional-packages.js";
import { captureStdio } from "./capture.js";

setDefaultRuntime(nodeOrt);

const root = mkdtempSync(path.join(tmpdir(), "diffuse-train-vae-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const { out, err } = captureStdio();

/** factor 4 (three blocks): 28 -> 7, as the vae28 preset, but 8 channels wide. */
const TINY = {
  block_out_channels: [8, 8, 8],
  norm_num_groups: 4,
  mid_block_add_attention: false,
};
const settings = {
  dataset: "fashion-mnist",
  limit: 48,
  batchSize: 8,
  warmupSteps: 1,
  validSize: 16,
  numSamples: 10,
  scaleSamples: 32,
  model: TINY,
  checkpointEvery: 2,
  threads: 1,
};

// Fashion-MNIST data: Debian's dataset-fashion-mnist, optional (skipped with a reason without it).
describe.skipIf(!announceSkip("diffuse train-vae", FASHION_MNIST))("diffuse train-vae", () => {
  const a = path.join(root, "a");
  const b = path.join(root, "b");

  it("trains from a JSON config; writes an AutoencoderKL folder with scaling_factor from the data", async () => {
    const cfgFile = path.join(root, "vae.json");
    writeFileSync(cfgFile, JSON.stringify({ ...settings, steps: 4 }));
    expect(await main(["train-vae", "--config", cfgFile, "--out", a]), err.join("")).toBe(0);
    const result = JSON.parse(out.join("").trim().split("\n").pop()!);
    expect(result.step).toBe(4);
    const config = JSON.parse(readFileSync(path.join(a, "config.json"), "utf8"));
    expect(config._class_name).toBe("AutoencoderKL");
    expect(config.block_out_channels).toEqual([8, 8, 8]);
    expect(config.scaling_factor).toBe(result.scalingFactor);
    expect(config.scaling_factor).not.toBe(1);
    const report = JSON.parse(readFileSync(path.join(a, "validation.json"), "utf8"));
    expect(report.latentShape).toEqual([4, 7, 7]);
    expect(report.examples).toBe(16);
    expect(report.psnr).toBeCloseTo(10 * Math.log10(4 / report.mse), 8);
    expect(report.psnr).toBe(result.psnr);
    // The folder loads as a diffusers model; the grid holds 10 originals over 10 reconstructions.
    const model = await loadPretrained(a);
    expect(model.constructor.name).toBe("AutoencoderKL");
    const grid = decodePng(readFileSync(path.join(a, "reconstructions.png")));
    expect(grid.width).toBe(8 * 30 + 2);
    expect(grid.height).toBe(4 * 30 + 2);
    const log = readFileSync(path.join(a, "log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(log.at(-1)).toMatchObject({ step: 4, validPsnr: report.psnr });
  });

  it("resumes bit-exactly: halted at step 2 and resumed to 4 equals the straight run", async () => {
    const halted = await runVaeTraining(
      { ...settings, steps: 4, out: b },
      { haltAfter: 2, progress: { write: () => true } },
    );
    expect(halted.halted).toBe(true);
    expect(await main(["train-vae", "--out", b, "--resume", "--steps", "4"]), err.join("")).toBe(0);
    const wa = await readSafetensorsFile(path.join(a, "diffusion_pytorch_model.safetensors"));
    const wb = await readSafetensorsFile(path.join(b, "diffusion_pytorch_model.safetensors"));
    expect([...wb.tensors.keys()]).toEqual([...wa.tensors.keys()]);
    for (const [name, t] of wa.tensors) expect([...wb.tensors.get(name)!.data], name).toEqual([...t.data]);
    expect(readFileSync(path.join(b, "config.json"), "utf8")).toBe(
      readFileSync(path.join(a, "config.json"), "utf8"),
    );
  });

  it("bad input: a resume that changes the run, an image size the autoencoder cannot downsample, bad fields", async () => {
    expect(await main(["train-vae", "--out", b, "--resume", "--beta", "0.5"])).toBe(2);
    expect(err.join("")).toMatch(/resume: field "beta" is 0.5 but the checkpoint's run has 0.000001/);
    const five = JSON.stringify({ ...TINY, block_out_channels: [8, 8, 8, 8, 8, 8] });
    const c = path.join(root, "c");
    expect(
      await main(["train-vae", "--dataset", "fashion-mnist", "--limit", "8", "--model", five, "--out", c]),
    ).toBe(2);
    expect(err.join("")).toMatch(
      /downsamples by 32 .* fashion-mnist images are \[1, 28, 28\]; height and width must be multiples of 32/,
    );
    expect(await main(["train-vae", "--dataset", "fashion-mnist", "--beta", "-1", "--out", c])).toBe(2);
    expect(err.join("")).toMatch(/field "beta" is -1; expected a number >= 0/);
    expect(await main(["train-vae", "--dataset", "moons", "--out", c])).toBe(2);
    expect(err.join("")).toMatch(/holds points data; an autoencoder needs images/);
    const badCfg = path.join(root, "bad.json");
    writeFileSync(badCfg, JSON.stringify({ dataset: "mnist", betta: 1 }));
    expect(await main(["train-vae", "--config", badCfg, "--out", c])).toBe(2);
    expect(err.join("")).toMatch(/unknown field "betta"/);
  });
});
