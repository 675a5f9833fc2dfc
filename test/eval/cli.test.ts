/** `diffuse eval` in-process on small samples files (a few hundred reference images keep it fast). */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { type ImageDataset, loadDataset } from "../../src/data/index.js";
import { writeSafetensorsFile } from "../../src/io/files.js";
import type { StTensor } from "../../src/io/safetensors.js";
import { captureStdio } from "../cli/capture.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-eval-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const { out, err } = captureStdio();

async function samplesFile(name: string, tensors: Record<string, StTensor>): Promise<string> {
  const file = path.join(root, name);
  await writeSafetensorsFile(file, tensors);
  return file;
}

const FAST = ["--ref-count", "300", "--train-count", "300", "--kid-subsets", "10"];
const test = loadDataset("mnist", { split: "test", limit: 100 }) as ImageDataset;

describe("diffuse eval --samples", () => {
  it("real test images with their labels: table on stdout, JSON report, high accuracy, no memorisation", async () => {
    const file = await samplesFile("real.safetensors", {
      samples: { dtype: "F32", shape: [100, 1, 28, 28], data: test.images },
      labels: { dtype: "I32", shape: [100], data: test.labels! },
    });
    const json = path.join(root, "real.json");
    expect(await main(["eval", "--samples", file, "--dataset", "mnist", "--json", json, ...FAST])).toBe(0);
    const table = out.join("");
    for (const row of [
      "| FID |",
      "| KID |",
      "| precision |",
      "| recall |",
      "| density |",
      "| coverage |",
      "| class accuracy |",
      "| memorised |",
    ]) {
      expect(table).toContain(row);
    }
    const r = JSON.parse(readFileSync(json, "utf8"));
    expect(r.dataset).toBe("mnist");
    expect(r.report.counts).toEqual({ samples: 100, reference: 300, manifoldReference: 100, train: 300 });
    expect(Number.isFinite(r.report.fid.fid)).toBe(true);
    expect(r.report.accuracy.overall).toBeGreaterThanOrEqual(0.97);
    expect(r.report.memorization.fraction).toBe(0);
    expect(r.report.kid.subsets).toBe(10);
  });

  it("noise images score far worse than real ones", async () => {
    const noise = Float32Array.from({ length: 100 * 784 }, (_, i) => Math.sin(i * 12.9898));
    const file = await samplesFile("noise.safetensors", {
      samples: { dtype: "F32", shape: [100, 1, 28, 28], data: noise },
    });
    const json = path.join(root, "noise.json");
    expect(
      await main([
        "eval",
        "--samples",
        file,
        "--dataset",
        "mnist",
        "--json",
        json,
        "--memorization",
        "none",
        ...FAST,
      ]),
    ).toBe(0);
    const noiseReport = JSON.parse(readFileSync(json, "utf8")).report;
    const real = JSON.parse(readFileSync(path.join(root, "real.json"), "utf8")).report;
    expect(noiseReport.fid.fid).toBeGreaterThan(10 * real.fid.fid);
    expect(noiseReport.kid.mean).toBeGreaterThan(real.kid.mean + 10 * noiseReport.kid.stderr);
    expect(noiseReport.memorization).toBeUndefined();
    expect(noiseReport.accuracy).toBeUndefined();
  });

  it("memorised samples (copies of training images) are flagged, in pixel space too", async () => {
    const train = loadDataset("mnist", { split: "train", limit: 20 }) as ImageDataset;
    const file = await samplesFile("copies.safetensors", {
      samples: { dtype: "F32", shape: [20, 1, 28, 28], data: train.images },
    });
    const json = path.join(root, "copies.json");
    expect(
      await main([
        "eval",
        "--samples",
        file,
        "--dataset",
        "mnist",
        "--memorization",
        "pixel",
        "--json",
        json,
        "--ref-count",
        "300",
        "--kid-subsets",
        "10",
      ]),
    ).toBe(0);
    // the whole training split (the default) is searched, 20 x 60000 pixel distances
    const r = JSON.parse(readFileSync(json, "utf8")).report;
    expect(r.memorization).toMatchObject({ space: "pixel", fraction: 1, medianRatio: 0 });
    expect(r.counts.train).toBe(60000);
  });
});

describe("diffuse eval --model", () => {
  it("samples a (barely trained) class-conditional model through runSample, then evaluates", async () => {
    const model = path.join(root, "tiny");
    const unet = {
      block_out_channels: [8, 8],
      down_block_types: ["DownBlock2D", "DownBlock2D"],
      up_block_types: ["UpBlock2D", "UpBlock2D"],
      layers_per_block: 1,
      norm_num_groups: 4,
    };
    const train = ["train", "--dataset", "mnist", "--limit", "32", "--class-conditional", "--steps", "1"];
    const quiet = ["--batch-size", "8", "--valid-every", "0", "--sample-every", "0", "--num-samples", "2"];
    expect(await main([...train, ...quiet, "--model", JSON.stringify(unet), "--out", model])).toBe(0);
    const json = path.join(root, "model.json");
    const saved = path.join(root, "model-samples.safetensors");
    const argv = ["eval", "--model", model, "--sampler", "ddim", "--steps", "2"];
    const rest = [
      "--num-samples",
      "12",
      "--save-samples",
      saved,
      "--json",
      json,
      "--nll",
      "vlb",
      "--nll-count",
      "2",
      ...FAST,
    ];
    expect(await main([...argv, ...rest])).toBe(0);
    const r = JSON.parse(readFileSync(json, "utf8"));
    expect(r.dataset).toBe("mnist"); // from the model's model_index.json
    expect(r.sampling).toMatchObject({ sampler: "ddim", steps: 2, numSamples: 12 });
    expect(r.samples).toBe(saved);
    expect(r.report.counts.samples).toBe(12);
    expect(r.report.accuracy.perClass).toHaveLength(10); // labels 0..9, 0, 1 were requested
    // An untrained model's bound is large but finite, and its interval contains its mean.
    expect(r.nll).toMatchObject({ method: "vlb", data: "8-bit", count: 2 });
    expect(Number.isFinite(r.nll.bitsPerDim.mean) && r.nll.bitsPerDim.mean > 0).toBe(true);
    expect(r.nll.bitsPerDim.lo).toBeLessThanOrEqual(r.nll.bitsPerDim.mean);
  });
});

describe("diffuse eval errors", () => {
  const stderr = () => err.join("");

  it("a file without a 'samples' tensor lists what it has", async () => {
    const file = await samplesFile("wrong-name.safetensors", {
      images: { dtype: "F32", shape: [2, 1, 28, 28], data: new Float32Array(2 * 784) },
    });
    expect(await main(["eval", "--samples", file, "--dataset", "mnist"])).toBe(1);
    expect(stderr()).toMatch(/no tensor named "samples" \(found "images"\); expected \[N, 1, 28, 28\]/);
  });

  it("samples of the wrong shape", async () => {
    const file = await samplesFile("flat.safetensors", {
      samples: { dtype: "F32", shape: [2, 28, 28], data: new Float32Array(2 * 784) },
    });
    expect(await main(["eval", "--samples", file, "--dataset", "mnist"])).toBe(1);
    expect(stderr()).toMatch(/tensor "samples" has shape \[2, 28, 28\], expected \[N, 1, 28, 28\]/);
  });

  it("labels of the wrong length or out of range", async () => {
    const samples: StTensor = { dtype: "F32", shape: [2, 1, 28, 28], data: new Float32Array(2 * 784) };
    const short = await samplesFile("short.safetensors", {
      samples,
      labels: { dtype: "I32", shape: [3], data: Int32Array.from([1, 2, 3]) },
    });
    expect(await main(["eval", "--samples", short, "--dataset", "mnist"])).toBe(1);
    expect(stderr()).toMatch(/tensor "labels" has shape \[3\], expected \[2\]/);
    const range = await samplesFile("range.safetensors", {
      samples,
      labels: { dtype: "I32", shape: [2], data: Int32Array.from([1, 12]) },
    });
    expect(await main(["eval", "--samples", range, "--dataset", "mnist"])).toBe(1);
    expect(stderr()).toMatch(/tensor "labels" has 12 at index 1, expected a class in \[0, 10\)/);
  });

  const usage: [string[], RegExp][] = [
    [["eval", "--dataset", "mnist"], /--samples or --model: give exactly one/],
    [["eval", "--samples", "x.safetensors"], /--dataset: required \(one of mnist, fashion-mnist\)/],
    [
      ["eval", "--samples", "x.safetensors", "--dataset", "cifar"],
      /--dataset: expected one of mnist, fashion-mnist, got "cifar"/,
    ],
    [
      ["eval", "--samples", "x.safetensors", "--dataset", "mnist", "--steps", "5"],
      /--steps: only with --model/,
    ],
  ];
  for (const [argv, message] of usage) {
    it(argv.slice(1).join(" "), async () => {
      expect(await main(argv)).toBe(2);
      expect(stderr()).toMatch(message);
    });
  }

  it("a missing samples file is named", async () => {
    expect(await main(["eval", "--samples", path.join(root, "nope.safetensors"), "--dataset", "mnist"])).toBe(
      1,
    );
    expect(stderr()).toMatch(/safetensors file .*nope\.safetensors does not exist/);
  });
});
