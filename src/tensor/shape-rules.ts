/** Shape and dtype rules: validate a primitive's operands and give its output's abstract value. */
import type { Aval } from "./aval.js";
import type { ConvParams, Primitive, PrimitiveParams } from "./primitives.js";
import { BINARY, COMPARE, UNARY } from "./primitives.js";
import { broadcastShapes, fmt, size } from "./shape.js";

type Rule<Params> = (ins: readonly Aval[], p: Params) => Aval;

export class ShapeError extends Error {
  override name = "ShapeError";
}

function fail(prim: string, msg: string): never {
  throw new ShapeError(`${prim}: ${msg}`);
}

function sameDtype(prim: string, a: Aval, b: Aval): void {
  if (a.dtype !== b.dtype) fail(prim, `operand dtypes differ: ${a.dtype} and ${b.dtype}`);
}

function floatOnly(prim: string, a: Aval): void {
  if (a.dtype !== "float32") fail(prim, `expects float32, got ${a.dtype}`);
}

const unary: Rule<PrimitiveParams["neg"]> = (ins) => ins[0];

function binary(prim: string, out: "same" | "bool"): Rule<PrimitiveParams["add"]> {
  return ([a, b]) => {
    sameDtype(prim, a, b);
    const shape = broadcastShapes(a.shape, b.shape);
    if (!shape) fail(prim, `cannot broadcast shapes ${fmt(a.shape)} and ${fmt(b.shape)}`);
    return { shape, dtype: out === "bool" ? "bool" : a.dtype };
  };
}

function reduce(prim: string): Rule<PrimitiveParams["sum"]> {
  return ([a], { axes, keepdims }) => {
    for (const ax of axes)
      if (ax < 0 || ax >= a.shape.length) fail(prim, `axis ${ax} out of range for ${fmt(a.shape)}`);
    const shape = keepdims
      ? a.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : a.shape.filter((_, i) => !axes.includes(i));
    return { shape, dtype: a.dtype };
  };
}

function convOut(n: number, k: number, s: number, d: number, p0: number, p1: number): number {
  return Math.floor((n + p0 + p1 - d * (k - 1) - 1) / s) + 1;
}

function checkConvParams(prim: string, p: ConvParams): void {
  const ok = [...p.stride, ...p.dilation].every((v) => Number.isInteger(v) && v >= 1);
  if (!ok || !p.padding.every((v) => Number.isInteger(v) && v >= 0) || !(p.groups >= 1)) {
    fail(prim, `invalid geometry ${JSON.stringify(p)}`);
  }
}

const rank4 = (prim: string, what: string, a: Aval) => {
  if (a.shape.length !== 4) fail(prim, `${what} must be 4-D, got ${fmt(a.shape)}`);
};

/** Checks shared by conv2d and convTranspose2d: 4-D float operands of one dtype, valid geometry. */
function checkConvOperands(prim: string, x: Aval, w: Aval, p: ConvParams): void {
  rank4(prim, "input", x);
  rank4(prim, "weight", w);
  floatOnly(prim, x);
  sameDtype(prim, x, w);
  checkConvParams(prim, p);
}

const conv2d: Rule<PrimitiveParams["conv2d"]> = ([x, w], p) => {
  const prim = "conv2d";
  checkConvOperands(prim, x, w, p);
  const [b, ci, h, wd] = x.shape;
  const [co, cig, kh, kw] = w.shape;
  if (ci !== cig * p.groups || co % p.groups !== 0) {
    fail(prim, `input ${fmt(x.shape)} and weight ${fmt(w.shape)} disagree on channels (groups ${p.groups})`);
  }
  const ho = convOut(h, kh, p.stride[0], p.dilation[0], p.padding[0], p.padding[2]);
  const wo = convOut(wd, kw, p.stride[1], p.dilation[1], p.padding[1], p.padding[3]);
  if (ho < 1 || wo < 1) fail(prim, `input ${fmt(x.shape)} is smaller than the kernel ${fmt(w.shape)}`);
  return { shape: [b, co, ho, wo], dtype: x.dtype };
};

const convTranspose2d: Rule<PrimitiveParams["convTranspose2d"]> = ([x, w], p) => {
  const prim = "convTranspose2d";
  checkConvOperands(prim, x, w, p);
  const [b, ci, h, wd] = x.shape;
  const [wci, cog, kh, kw] = w.shape;
  if (ci !== wci || ci % p.groups !== 0) {
    fail(prim, `input ${fmt(x.shape)} and weight ${fmt(w.shape)} disagree on channels (groups ${p.groups})`);
  }
  const out = (n: number, k: number, i: 0 | 1) =>
    (n - 1) * p.stride[i] -
    p.padding[i] -
    p.padding[i + 2] +
    p.dilation[i] * (k - 1) +
    p.outputPadding[i] +
    1;
  return { shape: [b, cog * p.groups, out(h, kh, 0), out(wd, kw, 1)], dtype: x.dtype };
};

const convWeightGrad: Rule<PrimitiveParams["convWeightGrad"]> = ([x, dy], p) => {
  const prim = "convWeightGrad";
  rank4(prim, "input", x);
  rank4(prim, "output gradient", dy);
  sameDtype(prim, x, dy);
  checkConvParams(prim, p);
  const [kh, kw] = p.kernel;
  const ho = convOut(x.shape[2], kh, p.stride[0], p.dilation[0], p.padding[0], p.padding[2]);
  const wo = convOut(x.shape[3], kw, p.stride[1], p.dilation[1], p.padding[1], p.padding[3]);
  if (dy.shape[0] !== x.shape[0] || dy.shape[2] !== ho || dy.shape[3] !== wo) {
    fail(
      prim,
      `output gradient ${fmt(dy.shape)} does not match input ${fmt(x.shape)} and kernel ${fmt(p.kernel)}`,
    );
  }
  return { shape: [dy.shape[1], x.shape[1] / p.groups, kh, kw], dtype: x.dtype };
};

const matmul: Rule<PrimitiveParams["matmul"]> = ([a, b]) => {
  sameDtype("matmul", a, b);
  if (a.shape.length < 2 || b.shape.length < 2)
    fail("matmul", `operands must be at least 2-D: ${fmt(a.shape)} @ ${fmt(b.shape)}`);
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) fail("matmul", `inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)}`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (!batch) fail("matmul", `batch dimensions do not broadcast: ${fmt(a.shape)} @ ${fmt(b.shape)}`);
  return { shape: [...batch, m, n], dtype: a.dtype };
};

export const shapeRules: { [P in Primitive]: Rule<PrimitiveParams[P]> } = {
  ...(Object.fromEntries(
    UNARY.map((u) => [
      u,
      (ins: readonly Aval[]) => {
        floatOnly(u, ins[0]);
        return unary(ins, {});
      },
    ]),
  ) as unknown as { [P in (typeof UNARY)[number]]: Rule<PrimitiveParams[P]> }),
  ...(Object.fromEntries(BINARY.map((b) => [b, binary(b, "same")])) as unknown as {
    [P in (typeof BINARY)[number]]: Rule<PrimitiveParams[P]>;
  }),
  ...(Object.fromEntries(COMPARE.map((c) => [c, binary(c, "bool")])) as unknown as {
    [P in (typeof COMPARE)[number]]: Rule<PrimitiveParams[P]>;
  }),
  where: ([c, a, b]) => {
    if (c.dtype !== "bool") fail("where", `condition must be bool, got ${c.dtype}`);
    const ab = binary("where", "same")([a, b], {});
    const shape = broadcastShapes(c.shape, ab.shape);
    if (!shape) fail("where", `cannot broadcast condition ${fmt(c.shape)} with ${fmt(ab.shape)}`);
    return { shape, dtype: a.dtype };
  },
  cast: ([a], { dtype }) => ({ shape: a.shape, dtype }),
  sum: reduce("sum"),
  max: reduce("max"),
  reshape: ([a], { shape }) => {
    if (size(shape) !== size(a.shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      fail("reshape", `cannot reshape ${fmt(a.shape)} to ${fmt(shape)}`);
    }
    return { shape, dtype: a.dtype };
  },
  transpose: ([a], { perm }) => {
    const ok = perm.length === a.shape.length && [...perm].sort((x, y) => x - y).every((v, i) => v === i);
    if (!ok) fail("transpose", `perm ${fmt(perm)} is not a permutation of the axes of ${fmt(a.shape)}`);
    return { shape: perm.map((p) => a.shape[p]), dtype: a.dtype };
  },
  expand: ([a], { shape }) => {
    const b = broadcastShapes(a.shape, shape);
    if (!b || b.length !== shape.length || b.some((d, i) => d !== shape[i])) {
      fail("expand", `cannot broadcast ${fmt(a.shape)} to ${fmt(shape)}`);
    }
    return { shape, dtype: a.dtype };
  },
  slice: ([a], { starts, ends }) => {
    if (starts.length !== a.shape.length || ends.length !== a.shape.length) {
      fail("slice", `starts/ends must cover all ${a.shape.length} axes`);
    }
    const shape = a.shape.map((d, i) => {
      if (!(starts[i] >= 0 && starts[i] <= ends[i] && ends[i] <= d)) {
        fail("slice", `axis ${i}: [${starts[i]}, ${ends[i]}) is not within [0, ${d}]`);
      }
      return ends[i] - starts[i];
    });
    return { shape, dtype: a.dtype };
  },
  concat: (ins, { axis }) => {
    const [first] = ins;
    if (!first) fail("concat", "needs at least one tensor");
    let total = 0;
    for (const t of ins) {
      const ok =
        t.dtype === first.dtype &&
        t.shape.length === first.shape.length &&
        t.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!ok)
        fail("concat", `shapes ${ins.map((x) => fmt(x.shape)).join(", ")} do not agree off axis ${axis}`);
      total += t.shape[axis];
    }
    return { shape: first.shape.map((d, i) => (i === axis ? total : d)), dtype: first.dtype };
  },
  pad: ([a], { pads }) => {
    if (pads.length !== a.shape.length || pads.some(([l, r]) => l < 0 || r < 0)) {
      fail(
        "pad",
        `pads ${JSON.stringify(pads)} must give [before, after] >= 0 for each of ${a.shape.length} axes`,
      );
    }
    return { shape: a.shape.map((d, i) => d + pads[i][0] + pads[i][1]), dtype: a.dtype };
  },
  matmul,
  conv2d,
  convTranspose2d,
  convWeightGrad,
  gather: ([table, idx]) => {
    if (idx.dtype !== "int32") fail("gather", `indices must be int32, got ${idx.dtype}`);
    if (table.shape.length < 1) fail("gather", "table must be at least 1-D");
    return { shape: [...idx.shape, ...table.shape.slice(1)], dtype: table.dtype };
  },
};
