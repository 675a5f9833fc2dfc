/**
 * Files of the editing commands (invert, edit, interpolate, sample --latents), Node only:
 *   - images: a PNG of ONE image at the model's size (gray or colour, converted to the model's
 *     channels; bytes b map to b / 127.5 - 1), or a safetensors file with tensor `images` (or
 *     `samples`, what `diffuse sample` writes) [N, C, H, W] in [-1, 1], plus optional `labels` [N];
 *   - latents: a safetensors file with tensor `latents` [N, C, H, W] (x_T), optional `labels` [N],
 *     and metadata `steps` (the inversion's step count) and `model` (the folder it came from).
 * Every mismatch names the file and both shapes, before anything is written.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { type Channels, toPlanar } from "../data/image.js";
import { readSafetensorsFile } from "../io/files.js";
import { InputFileError, inFile } from "../io/input-error.js";
import { decodePng } from "../io/png.js";
import type { StTensor } from "../io/safetensors.js";
import { tensorToFloat32, tensorToInt32 } from "../io/safetensors_convert.js";
import * as T from "../tensor/index.js";

export interface ImageBatch {
  /** [N, ...example shape]. */
  x: T.Tensor;
  labels?: Int32Array;
  /** safetensors metadata (latents files). */
  metadata?: Record<string, string>;
}

const shapeText = (s: readonly number[]) => `[${s.join(", ")}]`;

function checkShape(file: string, what: string, got: readonly number[], example: readonly number[]): void {
  if (got.length !== example.length + 1 || example.some((d, i) => got[i + 1] !== d)) {
    throw new InputFileError(
      file,
      `${what} has shape ${shapeText(got)}, but the model takes [N, ${example.join(", ")}]`,
    );
  }
}

function tensorOf(tensors: Map<string, StTensor>, names: string[], file: string): [string, StTensor] {
  for (const n of names) {
    const t = tensors.get(n);
    if (t) return [n, t];
  }
  throw new InputFileError(
    file,
    `no tensor ${names.map((n) => JSON.stringify(n)).join(" or ")} (found: ${[...tensors.keys()].join(", ") || "none"})`,
  );
}

async function readTensors(file: string, names: string[], example: readonly number[]): Promise<ImageBatch> {
  const { tensors, metadata } = await readSafetensorsFile(file);
  const [name, t] = tensorOf(tensors, names, file);
  checkShape(file, `tensor "${name}"`, t.shape, example);
  const x = T.tensor(Float32Array.from(tensorToFloat32(t)), [...t.shape]);
  const lab = tensors.get("labels");
  let labels: Int32Array | undefined;
  if (lab) {
    labels = inFile(file, () => tensorToInt32(lab, "labels"), 'tensor "labels"');
    if (labels.length !== t.shape[0]) {
      throw new InputFileError(
        file,
        `tensor "labels" has ${labels.length} entries, expected ${t.shape[0]} (one per image)`,
      );
    }
  }
  return { x, ...(labels ? { labels: Int32Array.from(labels) } : {}), ...(metadata ? { metadata } : {}) };
}

/** Images to edit or invert from a PNG (one image) or a safetensors file (see the header). */
export async function readImages(file: string, example: readonly number[]): Promise<ImageBatch> {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".safetensors") return readTensors(file, ["images", "samples"], example);
  if (ext !== ".png") {
    throw new InputFileError(file, `expected a .png image or a .safetensors file with tensor "images"`);
  }
  if (example.length !== 3) {
    throw new InputFileError(
      file,
      `the model's examples are vectors [${example.join(", ")}]; give a .safetensors file`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new InputFileError(file, `cannot read image ${file}: ${(e as Error).message}`, { named: true });
  }
  const img = inFile(file, () => decodePng(bytes));
  const [c, h, w] = example as [number, number, number];
  if (img.height !== h || img.width !== w) {
    throw new InputFileError(
      file,
      `image is ${img.width}x${img.height} pixels (shape [1, ${c}, ${img.height}, ${img.width}]), but the model takes ${w}x${h} ([N, ${c}, ${h}, ${w}]); give one image at the model's size`,
    );
  }
  if (c !== 1 && c !== 3 && c !== 4)
    throw new InputFileError(file, `the model has ${c} channels; PNG input needs 1, 3 or 4`);
  const planar = toPlanar(img, c as Channels);
  const x = Float32Array.from(planar.data, (v) => v * 2 - 1);
  return { x: T.tensor(x, [1, c, h, w]) };
}

/** Latents written by `diffuse invert` (tensor `latents`). */
export function readLatents(file: string, example: readonly number[]): Promise<ImageBatch> {
  if (path.extname(file).toLowerCase() !== ".safetensors") {
    throw new InputFileError(
      file,
      `latents must be a .safetensors file with tensor "latents" (diffuse invert writes one)`,
    );
  }
  return readTensors(file, ["latents"], example);
}
