/** `diffuse invert / edit / interpolate` and `sample --latents` end to end on a tiny saved model. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../../src/io/files.js";
import { decodePng, encodePng } from "../../src/io/png.js";
import { tensorToFloat32 } from "../../src/io/safetensors_convert.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import { makeKey } from "../../src/random/index.js";
import { captureStdio } from "./capture.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-edit-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const p = (name: string) => path.join(root, name);

const { out, err } = captureStdio({ warn: true });

const UNET = {
  _class_name: "UNet2DModel",
  sample_size: 8,
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [8],
  down_block_types: ["DownBlock2D"],
  up_block_types: ["UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
};
const SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 100,
  beta_schedule: "linear",
  prediction_type: "epsilon",
};

async function saved(name: string, config: Record<string, unknown>, info: Record<string, unknown>) {
  const d = denoiserFromConfig(config, makeKey(4));
  await saveModelFolder(p(name), d, d.module.parameters(), SCHEDULER, info);
  return p(name);
}
const uncond = await saved("uncond", UNET, { dataKind: "image" });
const cond = await saved(
  "cond",
  { ...UNET, num_class_embeds: 4 },
  { dataKind: "image", numClasses: 3, nullClass: 3 },
);

/** A gray PNG of w x h with a gradient. */
function png(file: string, w: number, h: number): string {
  const data = Uint8Array.from({ length: w * h }, (_, i) => (i * 7) % 256);
  writeFileSync(file, encodePng({ width: w, height: h, channels: 1, data }));
  return file;
}

describe("diffuse invert and sample --latents", () => {
  it("inverts a PNG, says clipping is off, and reconstructs it", async () => {
    const image = png(p("one.png"), 8, 8);
    const lat = p("lat.safetensors");
    expect(await main(["invert", "--model", uncond, "--input", image, "--steps", "8", "--out", lat])).toBe(0);
    expect(err.join("")).toMatch(/clip_sample turned off/);
    const file = await readSafetensorsFile(lat);
    expect(file.tensors.get("latents")!.shape).toEqual([1, 1, 8, 8]);
    expect(file.metadata.steps).toBe("8");
    const rec = p("rec.safetensors");
    expect(await main(["sample", "--model", uncond, "--latents", lat, "--out", rec])).toBe(0);
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ sampler: "ddim", nfe: 8, shape: [1, 1, 8, 8] });
    const back = tensorToFloat32((await readSafetensorsFile(rec)).tensors.get("samples")!);
    const orig = Float32Array.from({ length: 64 }, (_, i) => ((i * 7) % 256) / 127.5 - 1);
    const mse = back.reduce((s, v, i) => s + (v - orig[i]!) ** 2, 0) / 64;
    expect(mse).toBeLessThan(1e-3);
  });

  it("--method pf_ode: the latents record it, and sample --latents decodes with the ODE", async () => {
    const lat = p("ode.safetensors");
    const image = png(p("ode.png"), 8, 8);
    expect(
      await main(["invert", "--model", uncond, "--input", image, "--method", "pf_ode", "--out", lat]),
    ).toBe(0);
    expect((await readSafetensorsFile(lat)).metadata.method).toBe("pf_ode");
    expect(await main(["sample", "--model", uncond, "--latents", lat, "--out", p("ode-back.png")])).toBe(0);
    expect(JSON.parse(out.at(-1)!).sampler).toBe("pf_ode");
  });

  it("a class-conditional model takes the labels of a sample file and keeps them in the latents", async () => {
    const samples = p("cond-samples.safetensors");
    expect(
      await main(["sample", "--model", cond, "--class-labels", "2,0", "--steps", "2", "--out", samples]),
    ).toBe(0);
    const lat = p("cond-lat.safetensors");
    expect(await main(["invert", "--model", cond, "--input", samples, "--steps", "4", "--out", lat])).toBe(0);
    expect(JSON.parse(out.at(-1)!).labels).toEqual([2, 0]);
    expect(await main(["sample", "--model", cond, "--latents", lat, "--out", p("cond-rec.png")])).toBe(0);
    expect(JSON.parse(out.at(-1)!).labels).toEqual([2, 0]);
  });
});

describe("bad editing input: a clear error naming the file and both shapes, nothing written", () => {
  it("a PNG of another size", async () => {
    const target = p("never1.safetensors");
    const image = png(p("big.png"), 12, 10);
    expect(await main(["invert", "--model", uncond, "--input", image, "--out", target])).toBe(1);
    expect(err.join("")).toMatch(
      /big\.png: image is 12x10 pixels \(shape \[1, 1, 10, 12\]\), but the model takes 8x8 \(\[N, 1, 8, 8\]\)/,
    );
    expect(existsSync(target)).toBe(false);
  });

  it("an images tensor of another shape, and a file without one", async () => {
    const file = p("wrong.safetensors");
    await writeSafetensorsFile(file, {
      images: { dtype: "F32", shape: [2, 3, 8, 8], data: new Float32Array(384) },
    });
    const target = p("never2.png");
    expect(
      await main(["edit", "--model", uncond, "--input", file, "--strength", "0.5", "--out", target]),
    ).toBe(1);
    expect(err.join("")).toMatch(
      /wrong\.safetensors: tensor "images" has shape \[2, 3, 8, 8\], but the model takes \[N, 1, 8, 8\]/,
    );
    const none = p("none.safetensors");
    await writeSafetensorsFile(none, { other: { dtype: "F32", shape: [1], data: new Float32Array(1) } });
    expect(
      await main(["edit", "--model", uncond, "--input", none, "--strength", "0.5", "--out", target]),
    ).toBe(1);
    expect(err.join("")).toMatch(/none\.safetensors: no tensor "images" or "samples" \(found: other\)/);
    expect(existsSync(target)).toBe(false);
  });

  it("latents of another shape", async () => {
    const file = p("lat-wrong.safetensors");
    await writeSafetensorsFile(file, {
      latents: { dtype: "F32", shape: [1, 1, 4, 4], data: new Float32Array(16) },
    });
    const target = p("never3.png");
    expect(await main(["sample", "--model", uncond, "--latents", file, "--out", target])).toBe(1);
    expect(err.join("")).toMatch(
      /lat-wrong\.safetensors: tensor "latents" has shape \[1, 1, 4, 4\], but the model takes \[N, 1, 8, 8\]/,
    );
    expect(existsSync(target)).toBe(false);
  });

  for (const strength of ["0", "1.5", "-0.2"]) {
    it(`strength ${strength}`, async () => {
      const target = p("never4.png");
      const argv = [
        "edit",
        "--model",
        uncond,
        "--input",
        png(p("s.png"), 8, 8),
        "--strength",
        strength,
        "--out",
        target,
      ];
      expect(await main(argv)).toBe(2);
      expect(err.join("")).toMatch(
        new RegExp(`UsageError: --strength ${strength} is not a number in \\(0, 1\\]`),
      );
      expect(existsSync(target)).toBe(false);
    });
  }

  it("a class-conditional model without labels, a bad seed spec, --latents with another sampler", async () => {
    const image = png(p("c.png"), 8, 8);
    expect(await main(["invert", "--model", cond, "--input", image, "--out", p("never5.safetensors")])).toBe(
      1,
    );
    expect(err.join("")).toMatch(/class-conditional; give one label per image/);
    expect(
      await main(["interpolate", "--model", uncond, "--input", "seed:x", "seed:2", "--out", p("n.png")]),
    ).toBe(2);
    expect(err.join("")).toMatch(/expected seed:N/);
    expect(
      await main(["sample", "--model", uncond, "--latents", "x.safetensors", "--sampler", "euler"]),
    ).toBe(2);
    expect(err.join("")).toMatch(/--latents: reconstruction runs DDIM/);
    expect(await main(["sample", "--model", uncond, "--guidance-interval", "5", "--out", p("n.png")])).toBe(
      2,
    );
    expect(err.join("")).toMatch(/--guidance-interval: expected two timesteps LO,HI/);
  });
});

describe("diffuse edit and interpolate", () => {
  it("edit with new class labels and guidance writes a grid", async () => {
    const target = p("edited.png");
    const argv = [
      "edit",
      "--model",
      cond,
      "--input",
      png(p("e.png"), 8, 8),
      "--strength",
      "0.6",
      "--class-labels",
      "1",
    ];
    expect(
      await main([
        ...argv,
        "--guidance-scale",
        "2",
        "--guidance-rescale",
        "0.5",
        "--steps",
        "5",
        "--out",
        target,
      ]),
    ).toBe(0);
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ labels: [1], strength: 0.6 });
    expect(decodePng(readFileSync(target)).width).toBe(8);
  });

  it("interpolate between two seeds writes one row of frames", async () => {
    const target = p("strip.png");
    expect(
      await main([
        "interpolate",
        "--model",
        uncond,
        "--input",
        "seed:1",
        "seed:2",
        "--frames",
        "5",
        "--steps",
        "3",
        "--out",
        target,
      ]),
    ).toBe(0);
    const img = decodePng(readFileSync(target));
    expect([img.width, img.height]).toEqual([5 * 10 + 2, 12]);
  });
});
