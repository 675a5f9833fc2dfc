/** Eager kernels that move data: reshape, transpose, expand, slice, concat, pad, gather. */
import { allocate } from "../dtype.js";
import type { PrimitiveParams } from "../primitives.js";
import { broadcastStrides, forEachStrided, size, strides } from "../shape.js";
import type { Kernel } from "./types.js";

export const reshapeKernel: Kernel<PrimitiveParams["reshape"]> = ([x]) => x.slice();

export const transposeKernel: Kernel<PrimitiveParams["transpose"]> = ([x], [a], { perm }, out) => {
  const y = allocate(out.dtype, x.length);
  const st = strides(a.shape);
  forEachStrided(out.shape, [perm.map((p) => st[p])], (i, [o]) => {
    y[i] = x[o];
  });
  return y;
};

export const expandKernel: Kernel<PrimitiveParams["expand"]> = ([x], [a], _p, out) => {
  const y = allocate(out.dtype, size(out.shape));
  forEachStrided(out.shape, [broadcastStrides(a.shape, out.shape)], (i, [o]) => {
    y[i] = x[o];
  });
  return y;
};

export const sliceKernel: Kernel<PrimitiveParams["slice"]> = ([x], [a], { starts }, out) => {
  const y = allocate(out.dtype, size(out.shape));
  const st = strides(a.shape);
  const base = starts.reduce((acc, s, i) => acc + s * st[i], 0);
  forEachStrided(out.shape, [st], (i, [o]) => {
    y[i] = x[base + o];
  });
  return y;
};

export const concatKernel: Kernel<PrimitiveParams["concat"]> = (xs, avals, { axis }, out) => {
  const y = allocate(out.dtype, size(out.shape));
  const outer = size(out.shape.slice(0, axis));
  const inner = size(out.shape.slice(axis + 1));
  const rowOut = out.shape[axis] * inner;
  let offset = 0;
  xs.forEach((x, k) => {
    const row = avals[k].shape[axis] * inner;
    for (let o = 0; o < outer; o++) y.set(x.subarray(o * row, (o + 1) * row), o * rowOut + offset);
    offset += row;
  });
  return y;
};

export const padKernel: Kernel<PrimitiveParams["pad"]> = ([x], [a], { pads, value }, out) => {
  const y = allocate(out.dtype, size(out.shape));
  y.fill(value);
  const st = strides(out.shape);
  const base = pads.reduce((acc, [before], i) => acc + before * st[i], 0);
  forEachStrided(a.shape, [st], (i, [o]) => {
    y[base + o] = x[i];
  });
  return y;
};

export const gatherKernel: Kernel<PrimitiveParams["gather"]> = ([table, idx], [ta], _p, out) => {
  const y = allocate(out.dtype, size(out.shape));
  const row = size(ta.shape.slice(1));
  const n = ta.shape[0];
  for (let i = 0; i < idx.length; i++) {
    let k = idx[i];
    if (k < 0) k += n;
    if (k < 0 || k >= n)
      throw new RangeError(`gather: index ${idx[i]} out of range for a table of ${n} rows`);
    y.set(table.subarray(k * row, (k + 1) * row), i * row);
  }
  return y;
};
