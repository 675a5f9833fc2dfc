/**
 * One test case per primitive (typed exhaustively: adding a primitive without a case is a type error).
 * Inputs avoid non-differentiable points so finite differences are meaningful.
 */

import * as T from "../../src/tensor/index.js";
import type { Primitive, PrimitiveParams } from "../../src/tensor/primitives.js";
import { rand, randAwayFromZero } from "../helpers.js";

export interface PrimCase<Params> {
  inputs: () => T.Tensor[];
  params: Params;
  /** Indices of inputs to differentiate (float inputs of differentiable primitives). */
  diff: number[];
}

const pos = (seed: number, shape: number[]) => rand(seed, shape, 0.5, 2);
const unary = (seed: number): PrimCase<PrimitiveParams["exp"]> => ({
  inputs: () => [pos(seed, [2, 3])],
  params: {},
  diff: [0],
});
const conv = {
  stride: [2, 1] as const,
  padding: [1, 0, 0, 1] as const,
  dilation: [1, 2] as const,
  groups: 2,
};

export const primitiveCases: { [P in Primitive]: PrimCase<PrimitiveParams[P]> } = {
  neg: unary(1),
  exp: unary(2),
  log: unary(3),
  sqrt: unary(4),
  tanh: { inputs: () => [rand(5, [2, 3])], params: {}, diff: [0] },
  sigmoid: { inputs: () => [rand(6, [2, 3], -3, 3)], params: {}, diff: [0] },
  sin: { inputs: () => [rand(7, [2, 3], -3, 3)], params: {}, diff: [0] },
  cos: { inputs: () => [rand(8, [2, 3], -3, 3)], params: {}, diff: [0] },
  abs: { inputs: () => [randAwayFromZero(9, [2, 3])], params: {}, diff: [0] },
  sign: { inputs: () => [randAwayFromZero(10, [2, 3])], params: {}, diff: [] },
  add: { inputs: () => [rand(11, [2, 3]), rand(12, [3])], params: {}, diff: [0, 1] },
  sub: { inputs: () => [rand(13, [2, 1, 3]), rand(14, [4, 1])], params: {}, diff: [0, 1] },
  mul: { inputs: () => [rand(15, [2, 3]), rand(16, [2, 1])], params: {}, diff: [0, 1] },
  div: { inputs: () => [rand(17, [2, 3]), pos(18, [3])], params: {}, diff: [0, 1] },
  maximum: { inputs: () => [rand(19, [2, 3]), rand(20, [2, 3])], params: {}, diff: [0, 1] },
  minimum: { inputs: () => [rand(21, [2, 3]), rand(22, [2, 3])], params: {}, diff: [0, 1] },
  less: { inputs: () => [rand(23, [2, 3]), rand(24, [2, 1])], params: {}, diff: [] },
  greater: { inputs: () => [rand(25, [2, 3]), rand(26, [3])], params: {}, diff: [] },
  equal: {
    inputs: () => [T.tensor([1, 2, 3, 4, 5, 6], [2, 3], "int32"), T.tensor([1, 5, 3], [3], "int32")],
    params: {},
    diff: [],
  },
  where: {
    inputs: () => [T.tensor([1, 0], [2, 1], "bool"), rand(27, [2, 3]), rand(28, [3])],
    params: {},
    diff: [1, 2],
  },
  cast: { inputs: () => [rand(29, [2, 3], -5, 5)], params: { dtype: "int32" }, diff: [] },
  sum: { inputs: () => [rand(30, [2, 3, 4])], params: { axes: [0, 2], keepdims: false }, diff: [0] },
  max: { inputs: () => [rand(31, [2, 3, 4])], params: { axes: [1], keepdims: true }, diff: [0] },
  reshape: { inputs: () => [rand(32, [2, 3, 4])], params: { shape: [6, 4] }, diff: [0] },
  transpose: { inputs: () => [rand(33, [2, 3, 4])], params: { perm: [2, 0, 1] }, diff: [0] },
  expand: { inputs: () => [rand(34, [3, 1])], params: { shape: [2, 3, 4] }, diff: [0] },
  slice: { inputs: () => [rand(35, [3, 4, 5])], params: { starts: [1, 0, 2], ends: [3, 4, 4] }, diff: [0] },
  concat: {
    inputs: () => [rand(36, [2, 1, 3]), rand(37, [2, 2, 3]), rand(38, [2, 3, 3])],
    params: { axis: 1 },
    diff: [0, 1, 2],
  },
  pad: {
    inputs: () => [rand(39, [2, 3])],
    params: {
      pads: [
        [1, 0],
        [2, 1],
      ],
      value: 0.5,
    },
    diff: [0],
  },
  matmul: { inputs: () => [rand(40, [2, 3, 4]), rand(41, [4, 5])], params: {}, diff: [0, 1] },
  conv2d: { inputs: () => [rand(42, [2, 4, 5, 6]), rand(43, [6, 2, 3, 2])], params: conv, diff: [0, 1] },
  convTranspose2d: {
    inputs: () => [rand(44, [2, 4, 3, 4]), rand(45, [4, 3, 3, 2])],
    params: { ...conv, outputPadding: [1, 0] },
    diff: [0, 1],
  },
  convWeightGrad: {
    // x [2,4,5,6] and dy [2,6,2,5] as conv2d with `conv` and a [3,2] kernel would produce.
    inputs: () => [rand(46, [2, 4, 5, 6]), rand(47, [2, 6, 2, 5])],
    params: { ...conv, kernel: [3, 2] },
    diff: [0, 1],
  },
  gather: {
    inputs: () => [rand(48, [5, 3]), T.tensor([4, 0, 4, 2], [2, 2], "int32")],
    params: {},
    diff: [0],
  },
};
