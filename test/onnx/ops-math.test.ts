/** Arithmetic ONNX ops built with OnnxGraphBuilder, run on onnxruntime-node, checked in plain JS. */
import { describe, it } from "vitest";
import { attr, OnnxGraphBuilder } from "../../src/onnx/builder.js";
import {
  broadcast2,
  type Conv2dParams,
  conv2d,
  convTranspose2d,
  expectClose,
  randomFloats,
  runGraph,
  size,
  tensor,
  unravel,
} from "./helpers.js";

describe("elementwise and matmul", () => {
  it("Add broadcasts [2,1,4] with [3,1]", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [2, 1, 4]);
    const y = b.input("y", "float32", [3, 1]);
    b.output("z", "float32", [2, 3, 4], b.node("Add", [x, y])[0]);
    const xd = randomFloats(8, 1);
    const yd = randomFloats(3, 2);
    const r = await runGraph(b, { x: tensor("float32", [2, 1, 4], xd), y: tensor("float32", [3, 1], yd) });
    const want = broadcast2(xd, [2, 1, 4], yd, [3, 1], [2, 3, 4], (p, q) => p + q);
    expectClose(r.z!, { data: want, shape: [2, 3, 4] }, 1e-6);
  });

  it("MatMul batches [2,3,4] x [4,5] and [2,3,4] x [2,4,5]", async () => {
    const b = new OnnxGraphBuilder();
    const a = b.input("a", "float32", [2, 3, 4]);
    const w = b.input("w", "float32", [4, 5]);
    const v = b.input("v", "float32", [2, 4, 5]);
    b.output("p", "float32", [2, 3, 5], b.node("MatMul", [a, w])[0]);
    b.output("q", "float32", [2, 3, 5], b.node("MatMul", [a, v])[0]);
    const ad = randomFloats(24, 3);
    const wd = randomFloats(20, 4);
    const vd = randomFloats(40, 5);
    const r = await runGraph(b, {
      a: tensor("float32", [2, 3, 4], ad),
      w: tensor("float32", [4, 5], wd),
      v: tensor("float32", [2, 4, 5], vd),
    });
    const mm = (bOff: number) =>
      Array.from({ length: 30 }, (_, i) => {
        const [n, row, col] = unravel(i, [2, 3, 5]) as [number, number, number];
        let acc = 0;
        for (let k = 0; k < 4; k++)
          acc += ad[(n * 3 + row) * 4 + k]! * (bOff ? vd[n * 20 + k * 5 + col]! : wd[k * 5 + col]!);
        return acc;
      });
    expectClose(r.p!, { data: mm(0), shape: [2, 3, 5] });
    expectClose(r.q!, { data: mm(1), shape: [2, 3, 5] });
  });

  it("Softmax over the last axis", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [3, 5]);
    b.output("y", "float32", [3, 5], b.node("Softmax", [x], { axis: attr.int(-1) })[0]);
    const xd = randomFloats(15, 6).map((v) => v * 10);
    const r = await runGraph(b, { x: tensor("float32", [3, 5], xd) });
    const want: number[] = [];
    for (let row = 0; row < 3; row++) {
      const vals = Array.from(xd.subarray(row * 5, row * 5 + 5));
      const m = Math.max(...vals);
      const e = vals.map((v) => Math.exp(v - m));
      const s = e.reduce((p, q) => p + q, 0);
      want.push(...e.map((v) => v / s));
    }
    expectClose(r.y!, { data: want, shape: [3, 5] }, 1e-6);
  });
});

describe("convolutions", () => {
  const cases: { label: string; xs: number[]; ws: number[]; p: Conv2dParams }[] = [
    {
      label: "3x3 pad 1",
      xs: [2, 3, 5, 5],
      ws: [4, 3, 3, 3],
      p: { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 1 },
    },
    {
      label: "stride 2, asymmetric pads",
      xs: [1, 2, 6, 7],
      ws: [3, 2, 3, 2],
      p: { pads: [1, 0, 0, 1], strides: [2, 2], dilations: [1, 1], group: 1 },
    },
    {
      label: "groups 2, dilation 2",
      xs: [1, 4, 7, 7],
      ws: [6, 2, 3, 3],
      p: { pads: [2, 2, 2, 2], strides: [1, 1], dilations: [2, 2], group: 2 },
    },
  ];
  for (const { label, xs, ws, p } of cases) {
    it(`Conv with bias: ${label}`, async () => {
      const b = new OnnxGraphBuilder();
      const xd = randomFloats(size(xs), 7);
      const wd = randomFloats(size(ws), 8);
      const bd = randomFloats(ws[0]!, 9);
      const x = b.input("x", "float32", xs);
      const w = b.initializer("float32", ws, wd, "weight");
      const bias = b.initializer("float32", [ws[0]!], bd);
      const attrs = {
        pads: attr.ints(p.pads),
        strides: attr.ints(p.strides),
        dilations: attr.ints(p.dilations),
        group: attr.int(p.group),
      };
      const want = conv2d(xd, xs, wd, ws, bd, p);
      b.output("y", "float32", want.shape, b.node("Conv", [x, w, bias], attrs)[0]);
      const r = await runGraph(b, { x: tensor("float32", xs, xd) });
      expectClose(r.y!, want, 1e-5);
    });
  }

  const tcases: { label: string; xs: number[]; ws: number[]; p: Conv2dParams }[] = [
    {
      label: "stride 2, 4x4 kernel, pad 1",
      xs: [2, 3, 4, 4],
      ws: [3, 2, 4, 4],
      p: { pads: [1, 1, 1, 1], strides: [2, 2], dilations: [1, 1], group: 1 },
    },
    {
      label: "groups 2, asymmetric pads",
      xs: [1, 4, 3, 5],
      ws: [4, 3, 3, 3],
      p: { pads: [0, 1, 1, 0], strides: [1, 2], dilations: [1, 1], group: 2 },
    },
  ];
  for (const { label, xs, ws, p } of tcases) {
    it(`ConvTranspose without bias: ${label}`, async () => {
      const b = new OnnxGraphBuilder();
      const xd = randomFloats(size(xs), 10);
      const wd = randomFloats(size(ws), 11);
      const x = b.input("x", "float32", xs);
      const w = b.input("w", "float32", ws);
      const attrs = { pads: attr.ints(p.pads), strides: attr.ints(p.strides), group: attr.int(p.group) };
      const want = convTranspose2d(xd, xs, wd, ws, p);
      // Optional bias omitted with "".
      b.output("y", "float32", want.shape, b.node("ConvTranspose", [x, w, ""], attrs)[0]);
      const r = await runGraph(b, { x: tensor("float32", xs, xd), w: tensor("float32", ws, wd) });
      expectClose(r.y!, want, 1e-5);
    });
  }
});

describe("reductions with axes as an input (opset 18)", () => {
  const shape = [2, 3, 4];
  const xd = randomFloats(24, 12);
  /** Reduces xd over `axes` with `f`, returning data in keepdims layout order. */
  function reduce(axes: number[], init: number, f: (acc: number, v: number) => number) {
    const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const out = new Array<number>(size(outShape)).fill(init);
    for (let i = 0; i < 24; i++) {
      const idx = unravel(i, shape).map((v, k) => (axes.includes(k) ? 0 : v));
      let flat = 0;
      for (let k = 0; k < 3; k++) flat = flat * outShape[k]! + idx[k]!;
      out[flat] = f(out[flat]!, xd[i]!);
    }
    return { data: out, outShape };
  }

  it("ReduceSum over axes [0, 2] keepdims=1 and ReduceMax over [-1] keepdims=0", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", shape);
    b.output(
      "s",
      "float32",
      [1, 3, 1],
      b.node("ReduceSum", [x, b.constInt64([0, 2])], { keepdims: attr.int(1) })[0],
    );
    b.output(
      "m",
      "float32",
      [2, 3],
      b.node("ReduceMax", [x, b.constInt64([-1])], { keepdims: attr.int(0) })[0],
    );
    const r = await runGraph(b, { x: tensor("float32", shape, xd) });
    const s = reduce([0, 2], 0, (a, v) => a + v);
    expectClose(r.s!, { data: s.data, shape: [1, 3, 1] }, 1e-5);
    const m = reduce([2], Number.NEGATIVE_INFINITY, Math.max);
    expectClose(r.m!, { data: m.data, shape: [2, 3] }, 0);
  });

  it("ReduceSum with the axes input omitted reduces everything", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", shape);
    b.output("s", "float32", [], b.node("ReduceSum", [x], { keepdims: attr.int(0) })[0]);
    const r = await runGraph(b, { x: tensor("float32", shape, xd) });
    expectClose(r.s!, { data: [xd.reduce((p, q) => p + q, 0)], shape: [] }, 1e-5);
  });
});
