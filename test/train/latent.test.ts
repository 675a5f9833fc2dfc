/**
 * Latent diffusion end to end on tiny data (latent-data-node.ts, run-node.ts with `vae`, the
 * pipeline's decoder): an untrained tiny autoencoder, a tiny latent U-Net, a few steps. Checks the
 * cache (reused for the same weights, rebuilt when the weights change), the pipeline layout with
 * vae/, that `diffuse sample` decodes to images, class-conditional guidance, and the bad-input errors.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import { AutoencoderKL } from "../../src/models/autoencoder-kl.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { loadPipeline } from "../../src/pipelines/pipeline-node.js";
import { setDefaultRuntime } from "../../src/tensor/index.js";
import { checkTrainConfigFields } from "../../src/train/config.js";
import { saveAutoencoder } from "../../src/train/vae-run-node.js";
import { captureStdio } from "../cli/capture.js";
import { announceSkip, FASHION_MNIST } from "../optional-packages.js";

setDefaultRuntime(nodeOrt);

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
    void out;
  });
});
