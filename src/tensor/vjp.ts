/**
 * Vector-Jacobian rules: given the cotangent `g` of a primitive's output, the cotangents of its operands,
 * written with other primitives (so a traced backward pass is itself a graph). `null` marks an operand
 * that takes no gradient (integer or boolean operands, comparisons).
 */
import * as T from "./ops.js";
import type { Primitive, PrimitiveParams } from "./primitives.js";
import type { Tensor } from "./tensor.js";
import { bind } from "./tensor.js";

type Cotangents = (Tensor | null)[];
type Vjp<Params> = (g: Tensor, inputs: readonly Tensor[], out: Tensor, p: Params) => Cotangents;

const none: Vjp<unknown> = (_g, ins) => ins.map(() => null);

/** Chain rule for `y = f(x)` with `dy/dx` given. */
const unary =
  (dydx: (x: Tensor, y: Tensor) => Tensor): Vjp<PrimitiveParams["exp"]> =>
  (g, [x], y) => [T.mul(g, dydx(x, y))];

function reduceBack(g: Tensor, x: Tensor, axes: readonly number[], keepdims: boolean): Tensor {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return keepdims ? g : T.reshape(g, kept);
}

/** Output size of conv2d along one axis, to pick convTranspose2d's output padding. */
function outputPadding(
  x: Tensor,
  g: Tensor,
  w: readonly number[],
  p: PrimitiveParams["conv2d"],
): [number, number] {
  const res = (i: 0 | 1) => {
    const full =
      (g.shape[2 + i] - 1) * p.stride[i] - p.padding[i] - p.padding[i + 2] + p.dilation[i] * (w[i] - 1) + 1;
    return x.shape[2 + i] - full;
  };
  return [res(0), res(1)];
}

/**
 * The conv2d that is the adjoint of convT(., p): output padding adds rows/columns at the bottom/right
 * of convT's output, so the adjoint conv pads those sides by `padding - outputPadding`; where that is
 * negative, the extra rows of `g` are cropped instead.
 */
function adjointGeometry(g: Tensor, p: PrimitiveParams["convTranspose2d"]) {
  const { outputPadding, ...conv } = p;
  const [pb, pr] = [p.padding[2] - outputPadding[0], p.padding[3] - outputPadding[1]];
  const cropped = T.slice(g, [
    null,
    null,
    [0, g.shape[2] + Math.min(0, pb)],
    [0, g.shape[3] + Math.min(0, pr)],
  ]);
  const padding = [p.padding[0], p.padding[1], Math.max(0, pb), Math.max(0, pr)] as const;
  return { g: cropped, conv: { ...conv, padding } };
}

export const vjpRules: { [P in Primitive]: Vjp<PrimitiveParams[P]> } = {
  neg: (g) => [T.neg(g)],
  exp: unary((_x, y) => y),
  log: (g, [x]) => [T.div(g, x)],
  sqrt: (g, _x, y) => [T.div(g, T.mul(y, 2))],
  tanh: unary((_x, y) => T.sub(1, T.square(y))),
  sigmoid: unary((_x, y) => T.mul(y, T.sub(1, y))),
  sin: unary((x) => T.cos(x)),
  cos: unary((x) => T.neg(T.sin(x))),
  abs: unary((x) => T.sign(x)),
  sign: none,
  add: (g, [a, b]) => [T.sumToShape(g, a.shape), T.sumToShape(g, b.shape)],
  sub: (g, [a, b]) => [T.sumToShape(g, a.shape), T.sumToShape(T.neg(g), b.shape)],
  mul: (g, [a, b]) => [T.sumToShape(T.mul(g, b), a.shape), T.sumToShape(T.mul(g, a), b.shape)],
  div: (g, [a, b], y) => [
    T.sumToShape(T.div(g, b), a.shape),
    T.sumToShape(T.neg(T.div(T.mul(g, y), b)), b.shape),
  ],
  // Ties send the gradient to the first operand, as the kernels pick it.
  maximum: (g, [a, b]) => {
    const first = T.less(a, b);
    return [T.sumToShape(T.where(first, 0, g), a.shape), T.sumToShape(T.where(first, g, 0), b.shape)];
  },
  minimum: (g, [a, b]) => {
    const second = T.greater(a, b);
    return [T.sumToShape(T.where(second, 0, g), a.shape), T.sumToShape(T.where(second, g, 0), b.shape)];
  },
  less: none,
  greater: none,
  equal: none,
  where: (g, [c, a, b]) => [
    null,
    T.sumToShape(T.where(c, g, 0), a.shape),
    T.sumToShape(T.where(c, 0, g), b.shape),
  ],
  cast: (g, [x]) => [x.dtype === "float32" && g.dtype === "float32" ? g : null],
  sum: (g, [x], _y, { axes, keepdims }) => [T.broadcastTo(reduceBack(g, x, axes, keepdims), x.shape)],
  // The gradient is shared evenly among tied maxima (torch.amax's convention).
  max: (g, [x], y, { axes, keepdims }) => {
    const hit = T.cast(T.equal(x, reduceBack(y, x, axes, keepdims)), "float32");
    const share = T.div(hit, T.sum(hit, axes, true));
    return [T.mul(share, reduceBack(g, x, axes, keepdims))];
  },
  reshape: (g, [x]) => [T.reshape(g, x.shape)],
  transpose: (g, _x, _y, { perm }) => {
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [T.transpose(g, inv)];
  },
  expand: (g, [x]) => [T.sumToShape(g, x.shape)],
  slice: (g, [x], _y, { starts, ends }) => [
    T.pad(
      g,
      x.shape.map((d, i) => [starts[i], d - ends[i]] as const),
    ),
  ],
  concat: (g, xs, _y, { axis }) => {
    let start = 0;
    return xs.map((x) => {
      const part = T.narrow(g, axis, start, x.shape[axis]);
      start += x.shape[axis];
      return part;
    });
  },
  pad: (g, [x], _y, { pads }) => [
    T.slice(
      g,
      pads.map(([before], i) => [before, before + x.shape[i]] as const),
    ),
  ],
  matmul: (g, [a, b]) => [
    T.sumToShape(T.matmul(g, T.swapAxes(b, -1, -2)), a.shape),
    T.sumToShape(T.matmul(T.swapAxes(a, -1, -2), g), b.shape),
  ],
  conv2d: (g, [x, w], _y, p) => {
    const kernel = [w.shape[2], w.shape[3]] as const;
    return [
      bind("convTranspose2d", [g, w], { ...p, outputPadding: outputPadding(x, g, kernel, p) }),
      bind("convWeightGrad", [x, g], { ...p, kernel }),
    ];
  },
  // y = convT(x, w) is conv2d's adjoint: x-bar = conv2d(g, w); w-bar pairs g (as conv input) with x.
  convTranspose2d: (g, [x, w], _y, p) => {
    const { g: gc, conv } = adjointGeometry(g, p);
    const kernel = [w.shape[2], w.shape[3]] as const;
    return [bind("conv2d", [gc, w], conv), bind("convWeightGrad", [gc, x], { ...conv, kernel })];
  },
  // dw = convWeightGrad(x, dy) is bilinear: x-bar = convT(dy, g), dy-bar = conv2d(x, g).
  convWeightGrad: (g, [x, dy], _y, p) => {
    const { kernel, ...conv } = p;
    return [
      bind("convTranspose2d", [dy, g], { ...conv, outputPadding: outputPadding(x, dy, kernel, conv) }),
      bind("conv2d", [x, g], conv),
    ];
  },
  gather: (g, [table, idx]) => {
    const rows = table.shape[0];
    const flatIdx = T.reshape(idx, [-1]);
    const flatG = T.reshape(g, [flatIdx.shape[0], -1]);
    const scattered = T.matmul(T.transpose(T.oneHot(flatIdx, rows)), flatG);
    return [T.reshape(scattered, table.shape), null];
  },
};
