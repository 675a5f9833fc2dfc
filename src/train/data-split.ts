/**
 * Held-out validation data: a deterministic subset of a dataset (by a seeded permutation) and the rest
 * for training, or a separate split where the source has one (MNIST's test set). Pure (no files).
 */
import type { Dataset } from "../data/types.js";
import { datasetSize, exampleData, exampleShape } from "../data/types.js";
import { foldIn, makeKey } from "../random/philox.js";
import { permutation } from "../random/sample.js";

/** Fold-in constant of the validation permutation (keeps it apart from the loader's epoch orders). */
const VALID_DOMAIN = 0x76616c;

/** The examples of `ds` at `indices` (in that order), as a dataset of the same kind. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const per = exampleShape(ds).reduce((a, b) => a * b, 1);
  const src = exampleData(ds);
  const data = new Float32Array(indices.length * per);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!;
    data.set(src.subarray(k * per, (k + 1) * per), i * per);
  }
  const labels = ds.labels ? Int32Array.from(indices, (k) => ds.labels![k]!) : undefined;
  const common = labels ? { labels } : {};
  return ds.kind === "image" ? { ...ds, images: data, ...common } : { ...ds, data, ...common };
}

/**
 * Splits off `validSize` examples (at most a fifth of the data) chosen by a permutation keyed by
 * `seed`; the training part keeps the remaining examples in their original order.
 */
export function holdOut(
  ds: Dataset,
  validSize: number,
  seed: number,
): { train: Dataset; valid: Dataset | null } {
  const n = datasetSize(ds);
  const k = Math.min(validSize, Math.floor(n / 5));
  if (k < 1) return { train: ds, valid: null };
  const order = permutation(foldIn(makeKey(seed), VALID_DOMAIN), n);
  const validIdx = order.slice(0, k);
  const isValid = new Uint8Array(n);
  for (const i of validIdx) isValid[i] = 1;
  const trainIdx: number[] = [];
  for (let i = 0; i < n; i++) if (!isValid[i]) trainIdx.push(i);
  return { train: subset(ds, trainIdx), valid: subset(ds, validIdx) };
}
