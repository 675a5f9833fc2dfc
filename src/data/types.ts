/**
 * In-memory datasets. Images are NCHW float32 in [-1, 1] (the range DDPM trains on: Ho et al. 2020,
 * section 4, "data scaled linearly to [-1, 1]"); vector data is row-major [N, D].
 */
import type { TableSchema } from "./table-schema.js";

/** Affine map back to the original units: original = value * std + mean, per column. */
export interface Normalization {
  readonly mean: number[];
  readonly std: number[];
}

interface Labelled {
  /** Dataset name as given to `loadDataset` (e.g. "mnist", "csv:iris.csv"). */
  readonly name: string;
  /** One class id per example, in [0, numClasses). */
  readonly labels?: Int32Array;
  readonly numClasses?: number;
  /** Human-readable class names, indexed by class id, where known. */
  readonly classNames?: string[];
}

export interface ImageDataset extends Labelled {
  readonly kind: "image";
  /** [N, C, H, W], row-major, values in [-1, 1]. */
  readonly images: Float32Array;
  /** [C, H, W] of one image. */
  readonly shape: [number, number, number];
}

export interface VectorDataset extends Labelled {
  /** "points": low-dimensional point clouds (2-D toys, zipcodes); "table": columns of a CSV file. */
  readonly kind: "points" | "table";
  /** [N, D], row-major. */
  readonly data: Float32Array;
  readonly dim: number;
  /** Column names, where known (length `dim`). */
  readonly columns?: string[];
  /** How `data` was scaled; undo with `unnormalize`. Identity for data generated at its own scale. */
  readonly normalization: Normalization;
  /** Mixed tables (`table:` datasets): the column schema that encodes and decodes a row. */
  readonly table?: TableSchema;
}

export type Dataset = ImageDataset | VectorDataset;

/** Number of examples in a dataset. */
export function datasetSize(ds: Dataset): number {
  if (ds.kind === "image") {
    const [c, h, w] = ds.shape;
    return ds.images.length / (c * h * w);
  }
  return ds.data.length / ds.dim;
}

/** Shape of one example: [C, H, W] or [D]. */
export function exampleShape(ds: Dataset): number[] {
  return ds.kind === "image" ? [...ds.shape] : [ds.dim];
}

/** The flat example array of a dataset. */
export function exampleData(ds: Dataset): Float32Array {
  return ds.kind === "image" ? ds.images : ds.data;
}

/** Throws unless `limit` is undefined or a positive integer; returns min(limit, available). */
export function applyLimit(limit: number | undefined, available: number): number {
  if (limit === undefined) return available;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new Error(`limit: expected a positive integer, got ${limit}`);
  }
  return Math.min(limit, available);
}
