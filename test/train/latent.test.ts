/**
 * Latent diffusion end to end on tiny data (latent-data-node.ts, run-node.ts with `vae`, the
 * pipeline's decoder): an untrained tiny autoencoder, a tiny latent U-Net, a few steps. Checks the
 * cache (reused for the same weights, rebuilt when the weights change), the pipeline layout with
 * vae/ (also in best/), that `diffuse sample` decodes to images, class-conditional guidance, and the
 * bad-input errors (channels and sizes that do not fit, a stale cache rebuilt from the new weights).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { loadDataset } from "../../src/data/registry.js";
import type { ImageDataset } from "../../src/data/types.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import { AutoencoderKL } from "../../src/models/autoencoder-kl.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { loadPipeline } from "../../src/pipelines/pipeline-node.js";
import * as T from "../../src/tensor/index.js";
import { checkTrainConfigFields } from "../../src/train/config.js";
import { loadAutoencoder } from "../../src/train/latent-data-node.js";
import { saveAutoencoder } from "../../src/train/vae-run-node.js";
import { captureStdio } from "../cli/capture.js";
import { announceSkip, FASHION_MNIST } from "../optional-packages.js";

T.setDefaultRuntime(nodeOrt);

const root = mkdtempSync(path.join(tmpdir(), "diffuse-latent-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const { out, err } = captureStdio();

/** factor 4: 28x28x1 -> 7x7x4. */
function tinyVae(widths = [8, 8, 8], seed = 1): AutoencoderKL {
  return new AutoencoderKL(
    {
      in_channels: 1,
      out_channels: 1,
      block_out_channels: widths,
      down_block_types: widths.map(() => "DownEncoderBlock2D"),
      up_block_types: widths.map(() => "UpDecoderBlock2D"),
      norm_num_groups: 4,
      latent_channels: 4,
      mid_block_add_attention: false,
    },
    { seed },
  );
}

const UNET = JSON.stringify({ block_out_channels: [16], norm_num_groups: 4, attention_head_dim: 8 });
const run = (vae: string, outDir: string, extra: string[] = []) => [
  "train",
  "--dataset",
  "fashion-mnist",
  "--vae",
  vae,
  "--limit",
  "32",
  "--valid-size",
  "8",
  "--steps",
  "2",
  "--batch-size",
  "8",
  "--warmup-steps",
  "0",
  "--num-samples",
  "4",
  "--sampler-steps",
  "2",
  "--model",
  UNET,
  "--threads",
  "1",
  "--out",
  outDir,
  ...extra,
];

describe("the vae config field", () => {
  it("accepts a path or empty (pixel space: checkpoints of pixel runs resume), refuses other types", () => {
    expect(() => checkTrainConfigFields({ vae: "" })).not.toThrow();
    expect(() => checkTrainConfigFields({ vae: "runs/vae" })).not.toThrow();
    expect(() => checkTrainConfigFields({ vae: 3 })).toThrow(
      /field "vae" is 3; expected a string \(a folder path, or empty\)/,
    );
  });
});

// Fashion-MNIST data: Debian's dataset-fashion-mnist, optional (skipped with a reason without it).
describe.skipIf(!announceSkip("diffuse train --vae", FASHION_MNIST))("diffuse train --vae", () => {
  const vaeDir = path.join(root, "vae");
  const a = path.join(root, "a");
  const cache = path.join(a, "latents", "fashion-mnist-train-limit-32.safetensors");

  it("encodes once into a cache, trains in the latent space, writes vae/ + unet/ + scheduler/", async () => {
    await saveAutoencoder(vaeDir, tinyVae(), tinyVae().parameters(), 0.5);
    expect(await main(run(vaeDir, a, ["--class-conditional"])), err.join("")).toBe(0);
    expect(err.join("")).toMatch(/encoded 32 fashion-mnist train images to latents \[4, 7, 7\]/);
    const st = await readSafetensorsFile(cache);
    expect(st.tensors.get("latents")!.shape).toEqual([32, 4, 7, 7]);
    const index = JSON.parse(readFileSync(path.join(a, "model_index.json"), "utf8"));
    expect(index.vae).toEqual(["diffusers", "AutoencoderKL"]);
    const unet = JSON.parse(readFileSync(path.join(a, "unet", "config.json"), "utf8"));
    expect([unet.in_channels, unet.sample_size, unet.num_class_embeds]).toEqual([4, 7, 11]);
    const vae = JSON.parse(readFileSync(path.join(a, "vae", "config.json"), "utf8"));
    expect(vae.scaling_factor).toBe(0.5);
    const sched = JSON.parse(readFileSync(path.join(a, "scheduler", "scheduler_config.json"), "utf8"));
    expect(sched.clip_sample).toBe(false);
    // The training latents are the posterior means times scaling_factor.
    const pipe = await loadPipeline(a);
    expect(pipe.decoder).toBeDefined();
  });

  it("diffuse sample decodes to images; guidance works as in pixel space", async () => {
    const file = path.join(root, "s.safetensors");
    const argv = ["sample", "--model", a, "--class-labels", "3,7", "--steps", "2", "--out", file];
    expect(await main([...argv, "--guidance-scale", "3"]), err.join("")).toBe(0);
    const st = await readSafetensorsFile(file);
    expect(st.tensors.get("samples")!.shape).toEqual([2, 1, 28, 28]);
    expect([...st.tensors.get("labels")!.data]).toEqual([3, 7]);
    const guided = [...st.tensors.get("samples")!.data];
    expect(await main([...argv, "--guidance-scale", "1"])).toBe(0);
    const plain = [...(await readSafetensorsFile(file)).tensors.get("samples")!.data];
    expect(plain).not.toEqual(guided);
  });

  it("best/ (best validation loss) is a full latent pipeline: vae/ + model_index.json's vae; sample decodes", async () => {
    const best = path.join(a, "best");
    const index = JSON.parse(readFileSync(path.join(best, "model_index.json"), "utf8"));
    expect(index.vae).toEqual(["diffusers", "AutoencoderKL"]);
    const vae = JSON.parse(readFileSync(path.join(best, "vae", "config.json"), "utf8"));
    expect(vae.scaling_factor).toBe(0.5);
    const w = await readSafetensorsFile(path.join(best, "vae", "diffusion_pytorch_model.safetensors"));
    const src = await readSafetensorsFile(path.join(vaeDir, "diffusion_pytorch_model.safetensors"));
    for (const [name, t] of src.tensors) expect([...w.tensors.get(name)!.data], name).toEqual([...t.data]);
    const file = path.join(root, "best.safetensors");
    const argv = ["sample", "--model", best, "--class-labels", "1,2,3", "--steps", "2", "--out", file];
    expect(await main(argv), err.join("")).toBe(0);
    expect((await readSafetensorsFile(file)).tensors.get("samples")!.shape).toEqual([3, 1, 28, 28]);
  });

  it("reuses the cache for the same weights and rebuilds it when the weights changed", async () => {
    const before = readFileSync(cache);
    expect(await main(run(vaeDir, a, ["--class-conditional", "--overwrite"])), err.join("")).toBe(0);
    expect(err.join("")).toMatch(/latents from cache .*fashion-mnist-train-limit-32\.safetensors/);
    expect(readFileSync(cache).equals(before)).toBe(true);
    // Same config, other weights: the cache is stale.
    await saveAutoencoder(vaeDir, tinyVae(), tinyVae([8, 8, 8], 2).parameters(), 0.5);
    expect(await main(run(vaeDir, a, ["--class-conditional", "--overwrite"])), err.join("")).toBe(0);
    expect(err.join("")).toMatch(
      /latent cache .*fashion-mnist-train-limit-32\.safetensors is stale: made by autoencoder weights sha256 \w+, the autoencoder now has \w+; re-encoding/,
    );
    expect(readFileSync(cache).equals(before)).toBe(false);
    // Rebuilt, not reused: keyed by the new weights' hash, holding the new encoder's posterior means.
    const ae = await loadAutoencoder(vaeDir);
    const rebuilt = await readSafetensorsFile(cache);
    expect(JSON.parse(rebuilt.metadata!.diffuse_latents!).vaeHash).toBe(ae.hash);
    const x = loadDataset("fashion-mnist", { split: "train", limit: 4 }) as ImageDataset;
    const mu = ae.vae.encode(ae.params, T.tensor(x.images, [4, 1, 28, 28])).mean.values() as Float32Array;
    const z = rebuilt.tensors.get("latents")!.data as Float32Array;
    for (let i = 0; i < mu.length; i += 17) expect(z[i]).toBeCloseTo(mu[i]!, 4);
  });

  it("bad input: U-Net channels that do not fit the latents, an image size the autoencoder cannot downsample", async () => {
    const b = path.join(root, "b");
    const wrong = JSON.stringify({
      block_out_channels: [16],
      norm_num_groups: 4,
      in_channels: 3,
      out_channels: 3,
    });
    const argv = run(vaeDir, b);
    argv[argv.indexOf(UNET)] = wrong;
    expect(await main(argv)).toBe(1);
    expect(err.join("")).toMatch(
      /the U-Net takes in_channels 3 \/ out_channels 3 but the autoencoder's latents have latent_channels 4 \(.*vae\/config\.json\)/,
    );
    const f8 = path.join(root, "vae8");
    await saveAutoencoder(f8, tinyVae([8, 8, 8, 8]), tinyVae([8, 8, 8, 8]).parameters(), 1);
    expect(await main(run(f8, b))).toBe(1);
    expect(err.join("")).toMatch(
      /vae8\/config\.json: the autoencoder downsamples by 8 \(block_out_channels \[8,8,8,8\]\) but fashion-mnist images are \[1, 28, 28\]; height and width must be multiples of 8/,
    );
    expect(existsSync(path.join(b, "model_index.json"))).toBe(false);
    // A U-Net whose sample_size is not the latents' size.
    const argv14 = run(vaeDir, b);
    argv14[argv14.indexOf(UNET)] = JSON.stringify({ ...JSON.parse(UNET), sample_size: 14 });
    expect(await main(argv14)).toBe(1);
    expect(err.join("")).toMatch(
      /the U-Net has sample_size 14 but the autoencoder's latents of this data are \[4, 7, 7\] \(images downsampled by 4\); expected sample_size 7 \(.*vae\/config\.json\)/,
    );
    // An autoencoder for colour images on grey data.
    const rgb = path.join(root, "vae-rgb");
    const colour = new AutoencoderKL(
      { ...tinyVae().toConfig(), in_channels: 3, out_channels: 3 },
      { seed: 1 },
    );
    await saveAutoencoder(rgb, colour, colour.parameters(), 1);
    expect(await main(run(rgb, b))).toBe(1);
    expect(err.join("")).toMatch(
      /vae-rgb\/config\.json: the autoencoder takes 3-channel images \(in_channels\) but fashion-mnist images are \[1, 28, 28\]/,
    );
    // A model folder whose vae/ does not fit its unet/: sampling names both files.
    const mixed = path.join(root, "mixed");
    cpSync(a, mixed, { recursive: true });
    const three = new AutoencoderKL({ ...tinyVae().toConfig(), latent_channels: 3 }, { seed: 1 });
    await saveAutoencoder(path.join(mixed, "vae"), three, three.parameters(), 1);
    const s = path.join(root, "mixed.safetensors");
    expect(
      await main(["sample", "--model", mixed, "--num-samples", "2", "--steps", "2", "--out", s]),
    ).not.toBe(0);
    expect(err.join("")).toMatch(
      /mixed\/vae\/config\.json: the U-Net takes in_channels 4 \/ out_channels 4 but the autoencoder's latents have latent_channels 3 \(.*mixed\/unet\/config\.json\)/,
    );
    expect(existsSync(s)).toBe(false);
    void out;
  });
});
