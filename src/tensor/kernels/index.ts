/** The eager kernel registry: one plain-TypeScript kernel per primitive. */
import type { Primitive, PrimitiveParams } from "../primitives.js";
import { binaryKernel, castKernel, unaryKernel, whereKernel } from "./elementwise.js";
import {
  concatKernel,
  expandKernel,
  gatherKernel,
  padKernel,
  reshapeKernel,
  sliceKernel,
  transposeKernel,
} from "./layout.js";
import { conv2dKernel, convTranspose2dKernel, convWeightGradKernel, matmulKernel } from "./linalg.js";
import { maxKernel, sumKernel } from "./reduce.js";
import type { Kernel } from "./types.js";

export const kernels: { [P in Primitive]: Kernel<PrimitiveParams[P]> } = {
  neg: unaryKernel("neg"),
  exp: unaryKernel("exp"),
  log: unaryKernel("log"),
  sqrt: unaryKernel("sqrt"),
  tanh: unaryKernel("tanh"),
  sigmoid: unaryKernel("sigmoid"),
  sin: unaryKernel("sin"),
  cos: unaryKernel("cos"),
  abs: unaryKernel("abs"),
  sign: unaryKernel("sign"),
  add: binaryKernel("add"),
  sub: binaryKernel("sub"),
  mul: binaryKernel("mul"),
  div: binaryKernel("div"),
  maximum: binaryKernel("maximum"),
  minimum: binaryKernel("minimum"),
  less: binaryKernel("less"),
  greater: binaryKernel("greater"),
  equal: binaryKernel("equal"),
  where: whereKernel,
  cast: castKernel,
  sum: sumKernel,
  max: maxKernel,
  reshape: reshapeKernel,
  transpose: transposeKernel,
  expand: expandKernel,
  slice: sliceKernel,
  concat: concatKernel,
  pad: padKernel,
  matmul: matmulKernel,
  conv2d: conv2dKernel,
  convTranspose2d: convTranspose2dKernel,
  convWeightGrad: convWeightGradKernel,
  gather: gatherKernel,
};
