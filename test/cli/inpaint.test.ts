/** `diffuse inpaint` end to end on a tiny saved model: PNG and safetensors in and out, and bad input. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../../src/io/files.js";
import { decodePng, encodePng } from "../../src/io/png.js";
import { tensorToFloat32 } from "../../src/io/safetensors_convert.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import { makeKey } from "../../src/random/index.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-inpaint-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const model = path.join(root, "model");
const f = (name: string) => path.join(root, name);

let err: string[];
beforeEach(() => {
  err = [];
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  vi.spyOn(process.stderr, "write").mockImplementation((s: unknown) => {
    err.push(String(s));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

const H = 8;
const images = Float32Array.from({ length: 2 * H * H }, (_, i) => Math.fround(Math.sin(i) * 0.9));
const leftMask = Float32Array.from({ length: H * H }, (_, i) => (i % H < 4 ? 1 : 0));

beforeAll(async () => {
  const unet = {
    sample_size: H,
    in_channels: 1,
    out_channels: 1,
    block_out_channels: [8],
    down_block_types: ["DownBlock2D"],
    up_block_types: ["UpBlock2D"],
    layers_per_block: 1,
    norm_num_groups: 4,
  };
  const denoiser = denoiserFromConfig(unet, makeKey(2));
  const scheduler = { _class_name: "DDPMScheduler", num_train_timesteps: 50, prediction_type: "epsilon" };
  await saveModelFolder(model, denoiser, denoiser.module.parameters(), scheduler, {
    dataKind: "image",
  } as never);
  await writeSafetensorsFile(f("in.safetensors"), {
    images: { dtype: "F32", shape: [2, 1, H, H], data: images },
  });
  await writeSafetensorsFile(f("mask.safetensors"), {
    mask: { dtype: "F32", shape: [1, 1, H, H], data: leftMask },
  });
  writeFileSync(
    f("mask.png"),
    encodePng({ width: H, height: H, channels: 1, data: Uint8Array.from(leftMask, (v) => v * 255) }),
  );
  writeFileSync(
    f("in.png"),
    encodePng({
      width: H,
      height: H,
      channels: 1,
      data: Uint8Array.from({ length: H * H }, (_, i) => (i * 37) % 256),
    }),
  );
  writeFileSync(
    f("grey-mask.png"),
    encodePng({ width: H, height: H, channels: 1, data: new Uint8Array(H * H).fill(128) }),
  );
  await writeSafetensorsFile(f("big.safetensors"), {
    images: { dtype: "F32", shape: [2, 1, 6, 6], data: new Float32Array(72) },
  });
});

describe("diffuse inpaint", () => {
  it("safetensors in and out: the known pixels bit for bit (replacement, RePaint, guidance)", async () => {
    for (const extra of [
      [],
      ["--repaint-jump", "2", "--repaint-resample", "2"],
      ["--reconstruction-guidance", "1", "--sampler", "ddim"],
    ]) {
      const out = f("out.safetensors");
      const argv = [
        "inpaint",
        "--model",
        model,
        "--input",
        f("in.safetensors"),
        "--mask",
        f("mask.safetensors"),
      ];
      expect(await main([...argv, "--out", out, "--steps", "4", ...extra]), err.join("")).toBe(0);
      const st = await readSafetensorsFile(out);
      const s = st.tensors.get("samples")!;
      expect(s.shape).toEqual([2, 1, H, H]);
      const v = tensorToFloat32(s);
      for (let i = 0; i < v.length; i++) if (i % H < 4) expect(Object.is(v[i], images[i])).toBe(true);
      rmSync(out);
    }
  });
  it("PNG in, PNG mask, PNG out", async () => {
    const out = f("out.png");
    const argv = ["inpaint", "--model", model, "--input", f("in.png"), "--mask", f("mask.png"), "--out", out];
    expect(await main([...argv, "--steps", "3", "--sampler", "euler"]), err.join("")).toBe(0);
    const png = decodePng(new Uint8Array(await import("node:fs").then((fs) => fs.readFileSync(out))));
    expect([png.width, png.height]).toEqual([H, H]);
    const input = decodePng(
      new Uint8Array(await import("node:fs").then((fs) => fs.readFileSync(f("in.png")))),
    );
    for (let i = 0; i < H * H; i++) if (i % H < 4) expect(png.data[i]).toBe(input.data[i]);
  });
  it("bad input: names the file and both shapes, or the non-binary pixel; nothing is written", async () => {
    const out = f("never.safetensors");
    const base = ["inpaint", "--model", model, "--out", out, "--steps", "2"];
    expect(await main([...base, "--input", f("big.safetensors"), "--mask", f("mask.png")])).toBe(1);
    expect(err.join("")).toContain(
      `${f("big.safetensors")}: shape [2, 1, 6, 6] does not match the model's samples [N, 1, 8, 8]`,
    );
    err.length = 0;
    expect(await main([...base, "--input", f("in.safetensors"), "--mask", f("grey-mask.png")])).toBe(1);
    expect(err.join("")).toMatch(/grey-mask\.png.*mask pixel \(0, 0\) is 128: not binary/);
    err.length = 0;
    await writeSafetensorsFile(f("mask3.safetensors"), {
      mask: { dtype: "F32", shape: [3, 1, H, H], data: new Float32Array(3 * H * H) },
    });
    expect(await main([...base, "--input", f("in.safetensors"), "--mask", f("mask3.safetensors")])).toBe(1);
    expect(err.join("")).toContain(
      `${f("mask3.safetensors")}: mask: shape [3, 1, 8, 8] does not broadcast to the samples' shape [2, 1, 8, 8]`,
    );
    err.length = 0;
    expect(
      await main([...base, "--input", f("in.safetensors"), "--mask", f("mask.png"), "--repaint-jump", "2"]),
    ).toBe(2);
    expect(err.join("")).toMatch(/--repaint-jump and --repaint-resample go together/);
    expect(existsSync(out)).toBe(false);
  });
  it("--infer-class: refused for an unconditional model, naming the folder and _diffuse.nullClass", async () => {
    const out = f("never-infer.safetensors");
    const argv = ["inpaint", "--model", model, "--out", out, "--input", f("in.safetensors")];
    expect(await main([...argv, "--mask", f("mask.png"), "--infer-class"])).toBe(1);
    expect(err.join("")).toContain(
      `${path.join(model, "model_index.json")}: --infer-class needs a class-conditional model trained with label dropout: this model is unconditional (model_index.json _diffuse.nullClass is null)`,
    );
    err.length = 0;
    expect(await main([...argv, "--mask", f("mask.png"), "--guidance-scale", "2"])).toBe(2);
    expect(err.join("")).toMatch(
      /--class-levels, --class-candidates and --guidance-scale go with --infer-class/,
    );
    expect(existsSync(out)).toBe(false);
  });
  it("--infer-class on a class-conditional model with a null class: known pixels bit for bit", async () => {
    const cond = path.join(root, "cond");
    const denoiser = denoiserFromConfig(
      {
        sample_size: H,
        in_channels: 1,
        out_channels: 1,
        block_out_channels: [8],
        down_block_types: ["DownBlock2D"],
        up_block_types: ["UpBlock2D"],
        layers_per_block: 1,
        norm_num_groups: 4,
        num_class_embeds: 3,
      },
      makeKey(4),
    );
    await saveModelFolder(
      cond,
      denoiser,
      denoiser.module.parameters(),
      { _class_name: "DDPMScheduler", num_train_timesteps: 50, prediction_type: "epsilon" },
      { dataKind: "image", numClasses: 2, nullClass: 2 } as never,
    );
    const out = f("inferred.safetensors");
    const argv = ["inpaint", "--model", cond, "--input", f("in.safetensors"), "--mask", f("mask.png")];
    expect(await main([...argv, "--out", out, "--steps", "3", "--infer-class", "--class-levels", "2"])).toBe(
      0,
    );
    const got = tensorToFloat32((await readSafetensorsFile(out)).tensors.get("samples")!);
    for (let i = 0; i < got.length; i++) if (i % H < 4) expect(Object.is(got[i], images[i])).toBe(true);
    // --class-candidates 2: the best of the two most probable classes' completions, also exact.
    const best = f("best-of-2.safetensors");
    expect(
      await main([...argv, "--out", best, "--steps", "3", "--infer-class", "--class-candidates", "2"]),
    ).toBe(0);
    const two = tensorToFloat32((await readSafetensorsFile(best)).tensors.get("samples")!);
    for (let i = 0; i < two.length; i++) if (i % H < 4) expect(Object.is(two[i], images[i])).toBe(true);
    err.length = 0;
    expect(await main([...argv, "--out", best, "--infer-class", "--class-candidates", "3"])).toBe(1);
    expect(err.join("")).toMatch(/class candidates 3 is not an integer in \[1, 2\]/);
  });
  it("requires its files", async () => {
    expect(await main(["inpaint", "--model", model])).toBe(2);
    expect(err.join("")).toMatch(/--input: required/);
  });
});
