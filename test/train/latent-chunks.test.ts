/**
 * The latent cache streams image datasets stored one file per image (data/image-chunks.ts,
 * latent-data-node.ts): the chunked readers decode only the files asked for and equal the whole
 * loaders, and a cache built chunk by chunk reads at most `chunk` images at once and holds the same
 * latents as encoding the whole dataset in one call.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { imageFolderChunks, loadImageFolder } from "../../src/data/folder.js";
import { openImageChunks } from "../../src/data/registry.js";
import { loadTwemoji, twemojiChunks } from "../../src/data/twemoji.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import { encodePng } from "../../src/io/png.js";
import { AutoencoderKL } from "../../src/models/autoencoder-kl.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import * as T from "../../src/tensor/index.js";
import { latentDataset, loadAutoencoder } from "../../src/train/latent-data-node.js";
import { Progress } from "../../src/train/progress.js";
import { saveAutoencoder } from "../../src/train/vae-run-node.js";

T.setDefaultRuntime(nodeOrt);

const root = mkdtempSync(path.join(tmpdir(), "diffuse-latent-chunks-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** root/{a,b}/NN.png: 7 RGB images, 12x12, distinct patterns; classes a (4) and b (3). */
function writeFolder(dir: string, corrupt = -1): void {
  for (let i = 0; i < 7; i++) {
    const cls = i < 4 ? "a" : "b";
    mkdirSync(path.join(dir, cls), { recursive: true });
    const data = Uint8Array.from({ length: 12 * 12 * 3 }, (_, k) => (k * (i + 3) * 37) % 256);
    const file = path.join(dir, cls, `${String(i).padStart(2, "0")}.png`);
    writeFileSync(
      file,
      i === corrupt ? "not a png" : encodePng({ width: 12, height: 12, channels: 3, data }),
    );
  }
}

const folder = path.join(root, "imgs");
writeFolder(folder);

describe("chunked image readers", () => {
  it("a folder's chunks equal the whole loader's images and labels", () => {
    const opts = { size: 16, channels: 3 as const };
    const whole = loadImageFolder(folder, opts);
    const chunks = imageFolderChunks(folder, opts);
    expect(chunks.size).toBe(7);
    expect(chunks.shape).toEqual([3, 16, 16]);
    expect([...chunks.labels!]).toEqual([0, 0, 0, 0, 1, 1, 1]);
    const per = 3 * 16 * 16;
    const part = chunks.read(2, 3);
    expect(part.length).toBe(3 * per);
    expect([...part]).toEqual([...whole.images.subarray(2 * per, 5 * per)]);
    expect(() => chunks.read(5, 3)).toThrow(/read\(5, 3\) is past the end \(7 images\)/);
    expect(openImageChunks(`folder:${folder}`, { limit: 3 })!.size).toBe(3);
    expect(openImageChunks("mnist")).toBeNull();
  });

  it("decodes only the files read: a corrupt file fails its own chunk, not the others", () => {
    const bad = path.join(root, "bad");
    writeFolder(bad, 5);
    const chunks = imageFolderChunks(bad);
    expect(chunks.read(0, 4).length).toBe(4 * 3 * 64 * 64);
    expect(() => chunks.read(4, 3)).toThrow(/bad\/b\/05\.png/);
    expect(() => loadImageFolder(bad)).toThrow(/bad\/b\/05\.png/);
  });

  it("twemoji's chunks equal loadTwemoji", () => {
    const whole = loadTwemoji({ limit: 5 });
    const chunks = twemojiChunks({ limit: 5 });
    const per = 3 * 64 * 64;
    expect([...chunks.read(1, 2)]).toEqual([...whole.images.subarray(per, 3 * per)]);
    expect([...chunks.labels!]).toEqual([...whole.labels!]);
    expect(chunks.classNames).toEqual(whole.classNames);
  });
});

describe("the latent cache of a folder dataset", () => {
  it("reads at most `chunk` images at once and caches the latents of encoding the whole set", async () => {
    const widths = [8, 8, 8];
    const vae = new AutoencoderKL(
      {
        in_channels: 3,
        out_channels: 3,
        block_out_channels: widths,
        down_block_types: widths.map(() => "DownEncoderBlock2D"),
        up_block_types: widths.map(() => "UpDecoderBlock2D"),
        norm_num_groups: 4,
        latent_channels: 4,
        mid_block_add_attention: false,
      },
      { seed: 4 },
    );
    const vaeDir = path.join(root, "vae");
    await saveAutoencoder(vaeDir, vae, vae.parameters(), 0.5);
    const ae = await loadAutoencoder(vaeDir);
    const messages: string[] = [];
    const sink = {
      write: (s: string) => {
        messages.push(s);
        return true;
      },
    };
    const progress = new Progress(sink, 1);
    const cacheDir = path.join(root, "cache");
    const name = `folder:${folder}`;
    const ds = await latentDataset(ae, name, null, undefined, 0, cacheDir, progress, {
      threads: 1,
      chunk: 3,
    });
    expect(messages.join("")).toMatch(
      /encoded 7 folder:.* images to latents \[4, 16, 16\] .*3 per chunk; at most 3 images' pixels read at once/,
    );
    expect(ds.shape).toEqual([4, 16, 16]);
    expect([...ds.labels!]).toEqual([0, 0, 0, 0, 1, 1, 1]);
    // The whole set (64x64 RGB, the folder default) encoded in one call.
    const whole = loadImageFolder(folder);
    const encode = T.compile((p: Params, x: T.Tensor) => ae.vae.encode(p, x).mean, { threads: 1 });
    const mu = (await encode(ae.params, T.tensor(whole.images, [7, 3, 64, 64]))).values() as Float32Array;
    const st = await readSafetensorsFile(
      path.join(cacheDir, `${name.replace(/[^A-Za-z0-9._-]/g, "_")}.safetensors`),
    );
    const cached = st.tensors.get("latents")!;
    expect(cached.shape).toEqual([7, 4, 16, 16]);
    const z = cached.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < mu.length; i++) worst = Math.max(worst, Math.abs(z[i]! - mu[i]!));
    expect(worst).toBeLessThan(1e-4);
    // The dataset is the cached means times scaling_factor.
    expect(ds.images[10]).toBeCloseTo(0.5 * z[10]!, 6);
  });
});
