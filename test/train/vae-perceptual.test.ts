/**
 * The autoencoder's optional perceptual term (perceptual-loss.ts, vae-perceptual-node.ts): zero for
 * identical images and positive otherwise (host recomputation over the shipped MNIST feature net's
 * stages), its gradient reaches the decoder and only the autoencoder's parameters, the compiled loss
 * equals the eager one (the frozen net lowers as constants), bad input names the dataset and shapes,
 * and a short `train-vae` run with the term trains, resumes bit-exactly and saves no feature-net tensor.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/data/registry.js";
import type { ImageDataset } from "../../src/data/types.js";
import { loadFeatureNet } from "../../src/eval/feature-net-node.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import { AutoencoderKL } from "../../src/models/autoencoder-kl.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey, normal } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { CHECKPOINT_FILE } from "../../src/train/checkpoint-node.js";
import { perceptualDistance } from "../../src/train/perceptual-loss.js";
import { drawVaeInputs, vaeLoss } from "../../src/train/vae-objective.js";
import { perceptualNetworkFor } from "../../src/train/vae-perceptual-node.js";
import { runVaeTraining } from "../../src/train/vae-run-node.js";

T.setDefaultRuntime(nodeOrt);

const root = mkdtempSync(path.join(tmpdir(), "diffuse-vae-perceptual-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** factor 4 (28 -> 7) as vae28, 8 channels wide. */
const TINY = { block_out_channels: [8, 8, 8], norm_num_groups: 4, mid_block_add_attention: false };
const FULL_TINY = {
  in_channels: 1,
  out_channels: 1,
  latent_channels: 4,
  down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
  up_block_types: ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
  ...TINY,
};
const FEATURE_NET_NAMES = /^(convs|norms|fc|head)\./;

const mnist = loadDataset("mnist", { split: "test", limit: 4 }) as ImageDataset;
const x = T.tensor(mnist.images, [4, 1, 28, 28]);
const noisy = T.tensor(
  Float32Array.from(normal(makeKey(5), mnist.images.length), (n, i) => mnist.images[i]! + 0.2 * n),
  [4, 1, 28, 28],
);

describe("perceptualDistance over the shipped feature net's stages", async () => {
  const { net, params } = await loadFeatureNet("mnist");
  const phi = (z: T.Tensor) => net.stages(params, z);

  it("is 0 for identical images and the host mean of squared stage differences otherwise", () => {
    expect(perceptualDistance(phi, x, x).item()).toBe(0);
    const d = perceptualDistance(phi, x, noisy).item();
    expect(d).toBeGreaterThan(1e-3);
    const a = phi(x).map((t) => t.values() as Float32Array);
    const b = phi(noisy).map((t) => t.values() as Float32Array);
    expect(a.map((s) => s.length / 4)).toEqual([32 * 28 * 28, 64 * 14 * 14, 64 * 7 * 7, 64 * 4 * 4]);
    let host = 0;
    a.forEach((s, k) => {
      let sq = 0;
      for (let i = 0; i < s.length; i++) sq += (s[i]! - b[k]![i]!) ** 2;
      host += sq / s.length / a.length;
    });
    expect(d).toBeCloseTo(host, 5);
  });

  it("its gradient reaches the decoder, only the autoencoder's parameters; compiled equals eager", async () => {
    const vae = new AutoencoderKL(FULL_TINY, { seed: 7 });
    const p0 = vae.parameters();
    const batch = drawVaeInputs(makeKey(3), mnist.images, [4, 1, 28, 28], vae);
    const perceptualOnly = (p: Params) =>
      perceptualDistance(phi, batch.x, vae.decode(p, vae.encode(p, batch.x).mean));
    const grads = T.grad(perceptualOnly)(p0);
    expect(Object.keys(grads).sort()).toEqual(Object.keys(p0).sort());
    expect(Object.keys(grads).some((k) => FEATURE_NET_NAMES.test(k))).toBe(false);
    const norm = (prefix: string) =>
      Object.entries(grads)
        .filter(([k]) => k.startsWith(prefix))
        .reduce((s, [, g]) => s + (g.values() as Float32Array).reduce((a, v) => a + v * v, 0), 0);
    expect(norm("decoder.")).toBeGreaterThan(0);
    expect(Number.isFinite(norm("decoder."))).toBe(true);
    expect(norm("encoder.")).toBeGreaterThan(0); // through z = mu(x)
    // The objective with the term: larger than without it, and the compiled value equals the eager.
    const withTerm = vaeLoss(vae, { reconstruction: "l1", beta: 1e-6, perceptualWeight: 0.5 }, phi);
    const without = vaeLoss(vae, { reconstruction: "l1", beta: 1e-6 });
    const eager = withTerm(p0, batch).item();
    expect(eager).toBeGreaterThan(without(p0, batch).item());
    const compiled = (await T.compile(withTerm, { threads: 1 })(p0, batch)).item();
    expect(compiled).toBeCloseTo(eager, 4);
  });

  it("vaeLoss refuses a perceptual weight without a feature network", () => {
    const vae = new AutoencoderKL(FULL_TINY, { seed: 7 });
    expect(() => vaeLoss(vae, { reconstruction: "l1", beta: 0, perceptualWeight: 0.1 })).toThrow(
      /perceptualWeight is 0.1 but no feature network was given/,
    );
  });
});

describe("perceptualNetworkFor", () => {
  it("names the dataset without a feature net, and the shapes when the images do not fit", async () => {
    await expect(perceptualNetworkFor("twemoji", [3, 64, 64], 0.5)).rejects.toThrow(
      /"perceptualWeight" is 0.5 but dataset "twemoji" has no feature net .* mnist, fashion-mnist/,
    );
    await expect(perceptualNetworkFor("folder:/tmp/x", [3, 64, 64], 1)).rejects.toThrow(
      /dataset "folder:\/tmp\/x" has no feature net/,
    );
    await expect(perceptualNetworkFor("mnist", [3, 32, 32], 1)).rejects.toThrow(
      /feature net .*mnist\/config.json takes images \[1, 28, 28\] and mnist images are \[3, 32, 32\]/,
    );
    const ok = await perceptualNetworkFor("mnist", [1, 28, 28], 1);
    expect(ok.stageShapes).toEqual(["32x28x28", "64x14x14", "64x7x7", "64x4x4"]);
  });
});

describe("train-vae --perceptual-weight", () => {
  const settings = {
    dataset: "mnist",
    limit: 64,
    batchSize: 8,
    lr: 3e-3,
    warmupSteps: 1,
    validSize: 16,
    numSamples: 8,
    scaleSamples: 32,
    model: TINY,
    logEvery: 1,
    checkpointEvery: 3,
    threads: 1,
    perceptualWeight: 1,
  };
  const quiet = { progress: { write: () => true } };
  const a = path.join(root, "a");

  it("trains (the loss falls) and saves no feature-net tensor in the autoencoder or checkpoint", async () => {
    const r = await runVaeTraining({ ...settings, steps: 12, out: a }, quiet);
    expect(r.step).toBe(12);
    const losses = readFileSync(path.join(a, "log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.loss !== undefined)
      .map((e) => e.loss as number);
    expect(losses).toHaveLength(12);
    const mean = (v: number[]) => v.reduce((s, y) => s + y, 0) / v.length;
    expect(mean(losses.slice(-3))).toBeLessThan(0.8 * mean(losses.slice(0, 3)));
    const vaeNames = new AutoencoderKL(FULL_TINY)
      .parameterSpecs()
      .map((s) => s.name)
      .sort();
    const saved = await readSafetensorsFile(path.join(a, "diffusion_pytorch_model.safetensors"));
    expect([...saved.tensors.keys()].sort()).toEqual(vaeNames);
    // The checkpoint: parameters, EMA and Adam's two moments of the autoencoder's tensors, and no more.
    const ckpt = await readSafetensorsFile(path.join(a, CHECKPOINT_FILE));
    const names = [...ckpt.tensors.keys()].filter((n) => n !== "adam_step" && n !== "ema_step");
    for (const group of ["params", "ema", "adam_m", "adam_v"]) {
      const inGroup = names.filter((n) => n.startsWith(`${group}.`)).map((n) => n.slice(group.length + 1));
      expect(inGroup.sort(), group).toEqual(vaeNames);
    }
    expect(names).toHaveLength(4 * vaeNames.length);
  });

  it("resumes bit-exactly with the term (halted at 6, resumed to 12 equals the straight run)", async () => {
    const c = path.join(root, "c");
    const halted = await runVaeTraining({ ...settings, steps: 12, out: c }, { ...quiet, haltAfter: 6 });
    expect(halted.halted).toBe(true);
    await runVaeTraining({ out: c, resume: true, steps: 12 }, quiet);
    const wa = await readSafetensorsFile(path.join(a, "diffusion_pytorch_model.safetensors"));
    const wc = await readSafetensorsFile(path.join(c, "diffusion_pytorch_model.safetensors"));
    for (const [name, t] of wa.tensors) expect([...wc.tensors.get(name)!.data], name).toEqual([...t.data]);
    await expect(
      runVaeTraining({ out: c, resume: true, steps: 12, perceptualWeight: 0 }, quiet),
    ).rejects.toThrow(/field "perceptualWeight" is 0 but the checkpoint's run has 1/);
  });

  it("twemoji with the term fails before training, naming the dataset", async () => {
    await expect(
      runVaeTraining(
        { ...settings, dataset: "twemoji", limit: 16, steps: 2, out: path.join(root, "d") },
        quiet,
      ),
    ).rejects.toThrow(/dataset "twemoji" has no feature net/);
  });
});
