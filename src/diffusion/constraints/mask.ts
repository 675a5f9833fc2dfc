/**
 * Known values and a binary mask (1 = keep, 0 = generate) over a batch of samples, checked and
 * expanded to the sample's shape once; shared by replacement, RePaint and reconstruction guidance.
 * The mask may broadcast: [N or 1, 1 or C, ...] against samples [N, C, ...] (images [N, 1, H, W] or
 * [1, 1, H, W]; vectors [N, D] or [1, D]); the known values may be [1, ...] for the whole batch.
 */
import * as T from "../../tensor/index.js";

/** Known values and a mask, both expanded to the sample shape. */
export interface KnownPart {
  shape: readonly number[];
  /** Known values, float32, sample shape (entries where mask = 0 are ignored). */
  known: Float32Array;
  /** 1 = keep the known value, 0 = generate. */
  mask: Uint8Array;
}

const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;

function broadcastable(from: readonly number[], to: readonly number[]): boolean {
  return from.length === to.length && from.every((d, i) => d === to[i] || d === 1);
}

/** Expands `x` (broadcastable to `shape`) into a flat array of `shape`, row-major. */
function expand(x: T.Tensor, shape: readonly number[]): Float32Array {
  const v = x.values();
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const rank = shape.length;
  const strides = new Array<number>(rank).fill(0);
  let acc = 1;
  for (let a = rank - 1; a >= 0; a--) {
    strides[a] = x.shape[a] === 1 ? 0 : acc;
    acc *= x.shape[a]!;
  }
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let a = 0; a < rank; a++) src += idx[a]! * strides[a]!;
    out[i] = v[src]!;
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

/**
 * Checks and expands `known` and `mask` to the sample shape `shape`. Errors name the field, both
 * shapes, or the first non-binary mask value and its index.
 */
export function knownPart(known: T.Tensor, mask: T.Tensor, shape: readonly number[]): KnownPart {
  if (!broadcastable(known.shape, shape)) {
    throw new Error(`known: shape ${fmt(known.shape)} does not match the samples' shape ${fmt(shape)}`);
  }
  if (!broadcastable(mask.shape, shape)) {
    throw new Error(
      `mask: shape ${fmt(mask.shape)} does not broadcast to the samples' shape ${fmt(shape)} (expected [N or 1, 1 or C, ...])`,
    );
  }
  const mv = mask.values();
  for (let i = 0; i < mv.length; i++) {
    if (mv[i] !== 0 && mv[i] !== 1) {
      throw new Error(
        `mask: value ${mv[i]} at flat index ${i} is not binary (expected 0 = generate or 1 = keep)`,
      );
    }
  }
  return { shape: [...shape], known: expand(known, shape), mask: Uint8Array.from(expand(mask, shape)) };
}

/** `x` with the masked entries taken from `values` (both of the part's shape). */
export function mergeKnown(part: KnownPart, x: T.Tensor, values: ArrayLike<number>): T.Tensor {
  if (x.shape.length !== part.shape.length || x.shape.some((d, i) => d !== part.shape[i])) {
    throw new Error(
      `constraints: sample shape ${fmt(x.shape)} differs from the known part's ${fmt(part.shape)}`,
    );
  }
  const out = Float32Array.from(x.values() as Float32Array);
  for (let i = 0; i < out.length; i++) if (part.mask[i]) out[i] = values[i]!;
  return T.tensor(out, [...x.shape]);
}
