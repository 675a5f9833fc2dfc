/**
 * One entry point for every built-in dataset: `loadDataset(name, opts)`. Nothing is fetched from the
 * network; each source is an installed package or a user file (see each loader's doc comment).
 */
import { makeKey } from "../random/philox.js";
import { loadCsv } from "./csv.js";
import { imageFolderChunks, loadImageFolder } from "./folder.js";
import type { Channels } from "./image.js";
import type { ImageChunks } from "./image-chunks.js";
import { jointImageLabelDataset, jointLabelScale } from "./joint-image.js";
import { loadFashionMnist, loadMnist, type Split } from "./mnist.js";
import { checkerboard, gaussians, moons, swissroll } from "./points.js";
import { loadTable } from "./table.js";
import { loadTwemoji, twemojiChunks } from "./twemoji.js";
import { applyLimit, type Dataset } from "./types.js";
import { loadZipcodes } from "./zipcodes.js";

export interface LoadOptions {
  /** mnist, fashion-mnist: which split (default "train"). */
  split?: Split;
  /** Keep at most this many examples (the first ones, in the source's order). */
  limit?: number;
  /** Toy point sets: seed of the generator key (default 0). */
  seed?: number;
  /** Toy point sets: number of points (default 10,000). */
  n?: number;
  /** fashion-mnist: folder of IDX files; folder/csv: the path when the name has none. */
  path?: string;
  /** Image datasets: output side length (twemoji: 64, folder: 64). */
  size?: number;
  /** Image datasets with color: 3 RGB over white (default), 4 RGBA, 1 gray. */
  channels?: Channels;
  /** csv: name of the label column. */
  label?: string;
  /** zipcodes: "contiguous" (default) or "all". */
  region?: "contiguous" | "all";
}

/** Names accepted by `loadDataset`; `folder:` and `csv:` take a path after the colon. */
export const DATASET_NAMES = [
  "mnist",
  "mnist-joint",
  "mnist-joint-scaled",
  "fashion-mnist",
  "twemoji",
  "folder:<path>",
  "csv:<path>",
  "table:<path>",
  "moons",
  "swissroll",
  "checkerboard",
  "gaussians",
  "zipcodes",
] as const;

const TOYS = { moons, swissroll, checkerboard, gaussians } as const;

function pathOf(name: string, prefix: string, opts: LoadOptions): string {
  const path = name.length > prefix.length ? name.slice(prefix.length) : opts.path;
  if (!path) throw new Error(`${name}: expected a path, as "${prefix}<path>" or with opts.path`);
  return path;
}

/** Loads a dataset by name. Unknown names throw an error listing the valid ones. */
export function loadDataset(name: string, opts: LoadOptions = {}): Dataset {
  const { limit } = opts;
  if (name === "mnist") return loadMnist({ split: opts.split, limit });
  if (name === "mnist-joint") return jointImageLabelDataset(loadMnist({ split: opts.split, limit }));
  if (name === "mnist-joint-scaled") {
    return jointImageLabelDataset(loadMnist({ split: opts.split, limit }), jointLabelScale(name, 28, 28));
  }
  if (name === "fashion-mnist") return loadFashionMnist({ split: opts.split, limit, dir: opts.path });
  if (name === "twemoji") return loadTwemoji({ limit, channels: opts.channels, size: opts.size });
  if (name === "zipcodes") return loadZipcodes({ limit, region: opts.region });
  if (name === "folder" || name.startsWith("folder:")) {
    return loadImageFolder(pathOf(name, "folder:", opts), {
      limit,
      size: opts.size,
      channels: opts.channels,
    });
  }
  if (name === "csv" || name.startsWith("csv:")) {
    return loadCsv(pathOf(name, "csv:", opts), { limit, label: opts.label });
  }
  if (name === "table" || name.startsWith("table:")) {
    return loadTable(pathOf(name, "table:", opts), { limit });
  }
  if (Object.hasOwn(TOYS, name)) {
    const n = applyLimit(limit, opts.n ?? 10_000);
    return TOYS[name as keyof typeof TOYS](makeKey(opts.seed ?? 0), n);
  }
  throw new Error(
    `dataset: unknown name ${JSON.stringify(name)}; expected one of ${DATASET_NAMES.join(", ")}`,
  );
}

/**
 * The dataset as chunks decoded on demand (image-chunks.ts) for the image datasets stored as one
 * file per image (twemoji, folder:), or null for the others (IDX files, tables, generated points),
 * which `loadDataset` reads whole. Same images, order, labels and errors as `loadDataset`.
 */
export function openImageChunks(name: string, opts: LoadOptions = {}): ImageChunks | null {
  if (name === "twemoji")
    return twemojiChunks({ limit: opts.limit, channels: opts.channels, size: opts.size });
  if (name === "folder" || name.startsWith("folder:")) {
    return imageFolderChunks(pathOf(name, "folder:", opts), {
      limit: opts.limit,
      size: opts.size,
      channels: opts.channels,
    });
  }
  return null;
}
