/**
 * Input validation shared by the layers. Every message starts with the layer's dotted path (its
 * diffusers name, e.g. `down_blocks.0.resnets.0.conv1`) and shows the offending shape and what was
 * expected, so a wrong input is traced to the layer that refused it.
 */
import type { Tensor } from "../tensor/index.js";

/** Bad input to a layer (wrong rank, channels, dtype) or a bad layer option. */
export class LayerError extends Error {
  override name = "LayerError";
}

export const fmtShape = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

export function fail(layer: string, message: string): never {
  throw new LayerError(`${layer}: ${message}`);
}

/** `x` must have rank `rank` (`layout` names the axes, e.g. "NCHW"). */
export function expectRank(layer: string, x: Tensor, rank: number, layout: string, what = "input"): void {
  if (x.rank !== rank) {
    fail(layer, `${what} must be ${rank}-D ${layout}, got ${x.rank}-D ${fmtShape(x.shape)}`);
  }
}

/** `x` must have rank at least `rank`. */
export function expectMinRank(layer: string, x: Tensor, rank: number, what = "input"): void {
  if (x.rank < rank) fail(layer, `${what} must be at least ${rank}-D, got ${fmtShape(x.shape)}`);
}

/** Axis `axis` of `x` must have size `want`; `noun` names what that axis counts ("channels", "features"). */
export function expectDim(
  layer: string,
  x: Tensor,
  axis: number,
  want: number,
  noun: string,
  what = "input",
): void {
  const a = axis < 0 ? x.rank + axis : axis;
  const got = x.shape[a];
  if (got !== want) fail(layer, `${what} has ${got} ${noun} ${fmtShape(x.shape)}, expected ${want}`);
}

/** `x` must be float32. */
export function expectFloat(layer: string, x: Tensor, what = "input"): void {
  if (x.dtype !== "float32") fail(layer, `${what} must be float32, got ${x.dtype} ${fmtShape(x.shape)}`);
}

/** A layer option must be a positive integer. */
export function expectPositiveInt(layer: string, field: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    fail(layer, `option ${field} must be a positive integer, got ${JSON.stringify(value)}`);
  }
}
