/**
 * Sample-quality evaluation from files (Node only): reads a samples file (tensor "samples"
 * [N, 1, 28, 28] in [-1, 1], optional "labels" [N]), loads the dataset's shipped feature net and
 * reference images, extracts features and computes every metric of metrics.ts.
 *
 * Reference sets: `refCount` images drawn at random (seeded) from the dataset's test split for FID /
 * KID / precision / recall / density / coverage, and `trainCount` from the train split for the
 * memorisation check. Random, not the first ones: MNIST's test split is ordered (its first 5000 digits
 * come from NIST SD-3, the cleaner writers, the last 5000 from SD-1), and the two halves differ by a
 * FID of ~20 under the MNIST feature net. The test split is the reference because the feature net
 * was trained on the train split: its features of training images are tighter than those of unseen
 * images, generated ones included.
 */

import { type ImageDataset, loadDataset } from "../data/index.js";
import { readSafetensorsFile } from "../io/files.js";
import { InputFileError } from "../io/input-error.js";
import type { StTensor } from "../io/safetensors.js";
import { tensorToFloat32, tensorToInt32 } from "../io/safetensors_convert.js";
import { makeKey, permutation } from "../random/index.js";
import { extractFeatures } from "./extract.js";
import { FEATURE_NET_DATASETS, type LoadedFeatureNet, loadFeatureNet } from "./feature-net-node.js";
import { type Matrix, matrix } from "./matrix.js";
import { type SampleQualityReport, sampleQuality } from "./metrics.js";

export type MemorizationSpace = "feature" | "pixel" | "none";

export interface SamplesInput {
  /** [N, C, H, W] row-major in [-1, 1]. */
  images: Float32Array;
  shape: [number, number, number, number];
  labels?: Int32Array;
  /** Fraction of values outside [-1, 1] that were clamped. */
  clampedFraction: number;
}

const FLOAT_DTYPES = ["F32", "F16", "BF16", "F64"];
const INT_DTYPES = ["I32", "I64", "I8", "U8"];

/** Checks the "samples" / "labels" tensors of a samples file; errors name the tensor, value and expectation. */
export function samplesFromTensors(
  tensors: ReadonlyMap<string, StTensor>,
  expected: { channels: number; size: number; numClasses: number },
  source = "samples file",
): SamplesInput {
  const t = tensors.get("samples");
  if (!t) {
    const names = [...tensors.keys()].map((n) => JSON.stringify(n)).join(", ") || "none";
    throw new InputFileError(
      source,
      `${source}: no tensor named "samples" (found ${names}); expected [N, 1, 28, 28] images in [-1, 1]`,
      { named: true },
    );
  }
  const { channels: c, size: s } = expected;
  const [n, ...rest] = t.shape;
  if (t.shape.length !== 4 || !n || rest[0] !== c || rest[1] !== s || rest[2] !== s) {
    throw new InputFileError(
      source,
      `${source}: tensor "samples" has shape [${t.shape.join(", ")}], expected [N, ${c}, ${s}, ${s}] with N >= 1`,
      { named: true },
    );
  }
  if (!FLOAT_DTYPES.includes(t.dtype)) {
    throw new InputFileError(
      source,
      `${source}: tensor "samples" has dtype ${t.dtype}, expected one of ${FLOAT_DTYPES.join(", ")}`,
      { named: true },
    );
  }
  const images = Float32Array.from(tensorToFloat32(t));
  let clamped = 0;
  for (let i = 0; i < images.length; i++) {
    const v = images[i]!;
    if (!Number.isFinite(v))
      throw new InputFileError(
        source,
        `${source}: tensor "samples" has a non-finite value ${v} at index ${i}`,
        { named: true },
      );
    if (v < -1 || v > 1) {
      clamped++;
      images[i] = Math.min(1, Math.max(-1, v));
    }
  }
  const out: SamplesInput = { images, shape: [n, c, s, s], clampedFraction: clamped / images.length };
  const l = tensors.get("labels");
  if (l) {
    if (l.shape.length !== 1 || l.shape[0] !== n) {
      throw new InputFileError(
        source,
        `${source}: tensor "labels" has shape [${l.shape.join(", ")}], expected [${n}] (one per sample)`,
        { named: true },
      );
    }
    if (!INT_DTYPES.includes(l.dtype)) {
      throw new InputFileError(
        source,
        `${source}: tensor "labels" has dtype ${l.dtype}, expected an integer dtype (I32, I64, I8, U8)`,
        { named: true },
      );
    }
    const labels = tensorToInt32(l, "labels");
    const bad = labels.findIndex((y) => y < 0 || y >= expected.numClasses);
    if (bad >= 0) {
      throw new InputFileError(
        source,
        `${source}: tensor "labels" has ${labels[bad]} at index ${bad}, expected a class in [0, ${expected.numClasses})`,
        { named: true },
      );
    }
    out.labels = labels;
  }
  return out;
}

/** Reads and checks a samples file. */
export async function readSamplesFile(
  path: string,
  expected = { channels: 1, size: 28, numClasses: 10 },
): Promise<SamplesInput> {
  const { tensors } = await readSafetensorsFile(path);
  return samplesFromTensors(tensors, expected, path);
}

export interface EvaluateOptions {
  /** "mnist" or "fashion-mnist": the feature net and the reference images. */
  dataset: string;
  /** Real test images used as the reference (default 10000: the whole test split). */
  refCount?: number;
  /** Memorisation check space (default "feature"); "none" skips it. */
  memorization?: MemorizationSpace;
  /** Training images searched by the memorisation check (default 60000: all). */
  trainCount?: number;
  /** Seed of the metrics' random subsets (default 0). */
  seed?: number;
  /** KID subsets (default 100). */
  kidSubsets?: number;
  /** ONNX Runtime threads for the feature net (0: ORT's default). */
  threads?: number;
  /** A feature net folder instead of the shipped one. */
  featureNet?: string;
}

export interface EvaluateResult {
  report: SampleQualityReport;
  dataset: string;
  featureNet: string;
  clampedFraction: number;
  seconds: { features: number; metrics: number };
}

function checkCount(field: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
    throw new Error(`${field}: expected a positive integer, got ${v}`);
  }
}

/** `count` images of `split` drawn without replacement (seeded); all of them, in order, if count >= N. */
export function randomImages(
  dataset: string,
  split: "train" | "test",
  count: number,
  seed: number,
): Float32Array {
  const ds = loadDataset(dataset, { split }) as ImageDataset;
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const n = ds.images.length / per;
  if (count >= n) return ds.images;
  const order = permutation(makeKey(seed), n);
  const out = new Float32Array(count * per);
  for (let i = 0; i < count; i++)
    out.set(ds.images.subarray(order[i]! * per, (order[i]! + 1) * per), i * per);
  return out;
}

/** Pixels of an image dataset as a float64 matrix [N, C*H*W]. */
function pixels(images: Float32Array, n: number): Matrix {
  return matrix(images, n, images.length / n, "pixels");
}

/** Every metric of `samples` against `dataset`'s real images. */
export async function evaluateSamples(samples: SamplesInput, o: EvaluateOptions): Promise<EvaluateResult> {
  if (!(FEATURE_NET_DATASETS as readonly string[]).includes(o.dataset)) {
    throw new Error(
      `dataset: ${JSON.stringify(o.dataset)}; expected one of ${FEATURE_NET_DATASETS.join(", ")}`,
    );
  }
  checkCount("refCount", o.refCount);
  checkCount("trainCount", o.trainCount);
  const space = o.memorization ?? "feature";
  const loaded: LoadedFeatureNet = await loadFeatureNet(o.featureNet ?? o.dataset);
  const { net, params } = loaded;
  const extract = (images: Float32Array) => extractFeatures(net, params, images, { threads: o.threads });
  const t0 = performance.now();
  const seed = o.seed ?? 0;
  const fake = await extract(samples.images);
  const real = await extract(randomImages(o.dataset, "test", o.refCount ?? 10_000, seed));
  let memo: Parameters<typeof sampleQuality>[0]["memorization"];
  if (space !== "none") {
    const train = randomImages(o.dataset, "train", o.trainCount ?? 60_000, seed + 1);
    const per = samples.images.length / samples.shape[0];
    memo =
      space === "pixel"
        ? {
            space,
            samples: pixels(samples.images, samples.shape[0]),
            train: pixels(train, train.length / per),
          }
        : { space, samples: fake.features, train: (await extract(train)).features };
  }
  const t1 = performance.now();
  const report = sampleQuality({
    real: real.features,
    fake: fake.features,
    fakeLogits: fake.logits,
    ...(samples.labels ? { labels: samples.labels } : {}),
    ...(memo ? { memorization: memo } : {}),
    seed,
    kid: o.kidSubsets ? { subsets: o.kidSubsets } : {},
  });
  const t2 = performance.now();
  return {
    report,
    dataset: o.dataset,
    featureNet: loaded.dir,
    clampedFraction: samples.clampedFraction,
    seconds: { features: (t1 - t0) / 1000, metrics: (t2 - t1) / 1000 },
  };
}
