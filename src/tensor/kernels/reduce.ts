/** Eager kernels for reductions over axes. */
import { allocate } from "../dtype.js";
import type { PrimitiveParams } from "../primitives.js";
import { size, strides } from "../shape.js";
import type { Kernel } from "./types.js";

function reduceKernel(init: number, f: (acc: number, x: number) => number): Kernel<PrimitiveParams["sum"]> {
  return ([x], [a], { axes }, out) => {
    const y = allocate(out.dtype, size(out.shape));
    const acc = new Float64Array(y.length).fill(init);
    // Map each input index to its output index: reduced axes contribute stride 0.
    const kept = a.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const keptStrides = strides(kept).map((s, i) => (axes.includes(i) ? 0 : s));
    const rank = a.shape.length;
    const idx = new Array<number>(rank).fill(0);
    let o = 0;
    for (let i = 0; i < x.length; i++) {
      acc[o] = f(acc[o], x[i]);
      for (let ax = rank - 1; ax >= 0; ax--) {
        idx[ax]++;
        o += keptStrides[ax];
        if (idx[ax] < a.shape[ax]) break;
        o -= keptStrides[ax] * a.shape[ax];
        idx[ax] = 0;
      }
    }
    y.set(acc);
    return y;
  };
}

export const sumKernel = reduceKernel(0, (acc, x) => acc + x);
export const maxKernel = reduceKernel(-Infinity, (acc, x) => (x > acc || Number.isNaN(x) ? x : acc));
