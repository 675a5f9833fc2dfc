/** Eager kernels for elementwise primitives (with NumPy broadcasting) and casts. */
import { allocate } from "../dtype.js";
import type { BinaryPrimitive, ComparePrimitive, PrimitiveParams, UnaryPrimitive } from "../primitives.js";
import { broadcastStrides, forEachStrided, sameShape, size } from "../shape.js";
import type { Kernel } from "./types.js";

const unaryFns: { [P in UnaryPrimitive]: (x: number) => number } = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  sin: Math.sin,
  cos: Math.cos,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
};

const binaryFns: { [P in BinaryPrimitive | ComparePrimitive]: (a: number, b: number) => number } = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
  less: (a, b) => (a < b ? 1 : 0),
  greater: (a, b) => (a > b ? 1 : 0),
  equal: (a, b) => (a === b ? 1 : 0),
};

export function unaryKernel<P extends UnaryPrimitive>(prim: P): Kernel<PrimitiveParams[P]> {
  const f = unaryFns[prim];
  return ([x], _a, _p, out) => {
    const y = allocate(out.dtype, x.length);
    for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
    return y;
  };
}

export function binaryKernel<P extends BinaryPrimitive | ComparePrimitive>(
  prim: P,
): Kernel<PrimitiveParams[P]> {
  const f = binaryFns[prim];
  return ([a, b], [sa, sb], _p, out) => {
    const y = allocate(out.dtype, size(out.shape));
    if (sameShape(sa.shape, sb.shape)) {
      for (let i = 0; i < y.length; i++) y[i] = f(a[i], b[i]);
    } else if (b.length === 1) {
      const bv = b[0];
      for (let i = 0; i < y.length; i++) y[i] = f(a[i], bv);
    } else {
      const st = [broadcastStrides(sa.shape, out.shape), broadcastStrides(sb.shape, out.shape)];
      forEachStrided(out.shape, st, (i, [oa, ob]) => {
        y[i] = f(a[oa], b[ob]);
      });
    }
    return y; // int32 division truncates toward zero on assignment, as ONNX Div does
  };
}

export const whereKernel: Kernel<PrimitiveParams["where"]> = ([c, a, b], [sc, sa, sb], _p, out) => {
  const y = allocate(out.dtype, size(out.shape));
  const st = [sc, sa, sb].map((s) => broadcastStrides(s.shape, out.shape));
  forEachStrided(out.shape, st, (i, [oc, oa, ob]) => {
    y[i] = c[oc] ? a[oa] : b[ob];
  });
  return y;
};

export const castKernel: Kernel<PrimitiveParams["cast"]> = ([x], _a, { dtype }) => {
  const y = allocate(dtype, x.length);
  if (dtype === "bool") for (let i = 0; i < x.length; i++) y[i] = x[i] !== 0 ? 1 : 0;
  else if (dtype === "int32") for (let i = 0; i < x.length; i++) y[i] = Math.trunc(x[i]);
  else y.set(x);
  return y;
};
