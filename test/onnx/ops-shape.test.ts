/** Indexing, shape and selection ONNX ops run on onnxruntime-node, checked in plain JS. */
import { describe, expect, it } from "vitest";
import { attr, OnnxGraphBuilder } from "../../src/onnx/builder.js";
import { broadcastIndex, expectClose, runGraph, tensor, unravel } from "./helpers.js";

const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

describe("indexing", () => {
  it("Gather with int32 indices along axis 1 (negative index wraps)", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [2, 4, 3]);
    const idx = b.input("idx", "int32", [2, 2]);
    b.output("y", "float32", [2, 2, 2, 3], b.node("Gather", [x, idx], { axis: attr.int(1) })[0]);
    const xd = iota(24);
    const id = new Int32Array([3, 0, -1, 1]);
    const r = await runGraph(b, { x: tensor("float32", [2, 4, 3], xd), idx: tensor("int32", [2, 2], id) });
    const want = Array.from({ length: 24 }, (_, f) => {
      const [n, i, j, c] = unravel(f, [2, 2, 2, 3]) as [number, number, number, number];
      const k = (id[i * 2 + j]! + 4) % 4;
      return xd[(n * 4 + k) * 3 + c]!;
    });
    expectClose(r.y!, { data: want, shape: [2, 2, 2, 3] }, 0);
  });

  it("Slice with starts/ends/axes/steps inputs, including a negative step", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [4, 6]);
    const s = b.node("Slice", [
      x,
      b.constInt64([1, 5]),
      b.constInt64([4, 0]),
      b.constInt64([0, 1]),
      b.constInt64([2, -2]),
    ]);
    b.output("y", "float32", [2, 3], s[0]);
    const r = await runGraph(b, { x: tensor("float32", [4, 6], iota(24)) });
    // rows 1, 3; columns 5, 3, 1
    expectClose(r.y!, { data: [11, 9, 7, 23, 21, 19], shape: [2, 3] }, 0);
  });
});

describe("shape ops", () => {
  it("Reshape (with -1) then Transpose with perm", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [2, 12]);
    const [r3] = b.node("Reshape", [x, b.constInt64([2, 3, -1])]);
    b.output("y", "float32", [4, 2, 3], b.node("Transpose", [r3!], { perm: attr.ints([2, 0, 1]) })[0]);
    const xd = iota(24);
    const r = await runGraph(b, { x: tensor("float32", [2, 12], xd) });
    const want = Array.from({ length: 24 }, (_, f) => {
      const [k, n, c] = unravel(f, [4, 2, 3]) as [number, number, number];
      return xd[(n * 3 + c) * 4 + k]!;
    });
    expectClose(r.y!, { data: want, shape: [4, 2, 3] }, 0);
  });

  it("Concat along axis 1", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [2, 1]);
    const y = b.input("y", "float32", [2, 2]);
    b.output("z", "float32", [2, 3], b.node("Concat", [x, y], { axis: attr.int(1) })[0]);
    const r = await runGraph(b, {
      x: tensor("float32", [2, 1], new Float32Array([1, 2])),
      y: tensor("float32", [2, 2], new Float32Array([3, 4, 5, 6])),
    });
    expectClose(r.z!, { data: [1, 3, 4, 2, 5, 6], shape: [2, 3] }, 0);
  });

  it("Pad constant (value as an input) and reflect", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [2, 3]);
    const pads = b.constInt64([1, 0, 0, 2]); // [begin0, begin1, end0, end1]
    b.output(
      "c",
      "float32",
      [3, 5],
      b.node("Pad", [x, pads, b.constFloat([-1], [])], { mode: attr.string("constant") })[0],
    );
    b.output("r", "float32", [3, 5], b.node("Pad", [x, pads], { mode: attr.string("reflect") })[0]);
    const r = await runGraph(b, { x: tensor("float32", [2, 3], iota(6)) });
    expectClose(r.c!, { data: [-1, -1, -1, -1, -1, 0, 1, 2, -1, -1, 3, 4, 5, -1, -1], shape: [3, 5] }, 0);
    expectClose(r.r!, { data: [3, 4, 5, 4, 3, 0, 1, 2, 1, 0, 3, 4, 5, 4, 3], shape: [3, 5] }, 0);
  });

  it("Expand broadcasts [3,1] to [2,3,4]", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [3, 1]);
    b.output("y", "float32", [2, 3, 4], b.node("Expand", [x, b.constInt64([2, 3, 4])])[0]);
    const xd = new Float32Array([7, 8, 9]);
    const r = await runGraph(b, { x: tensor("float32", [3, 1], xd) });
    const want = Array.from({ length: 24 }, (_, f) => xd[broadcastIndex(unravel(f, [2, 3, 4]), [3, 1])]!);
    expectClose(r.y!, { data: want, shape: [2, 3, 4] }, 0);
  });
});

describe("selection and casts", () => {
  it("Less -> bool, Where, Cast to int64 and int32", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [5]);
    const y = b.input("y", "float32", [5]);
    const [lt] = b.node("Less", [x, y]);
    b.output("lt", "bool", [5], lt);
    b.output("min", "float32", [5], b.node("Where", [lt!, x, y])[0]);
    b.output("i64", "int64", [5], b.node("Cast", [x], { to: attr.int(7) })[0]);
    b.output("i32", "int32", [5], b.node("Cast", [lt!], { to: attr.int(6) })[0]);
    const xd = new Float32Array([1.5, -2.7, 3, 0, 9.9]);
    const yd = new Float32Array([2, -3, 3, 1, -1]);
    const r = await runGraph(b, { x: tensor("float32", [5], xd), y: tensor("float32", [5], yd) });
    expect(r.lt!.dtype).toBe("bool");
    expect(Array.from(r.lt!.data as Uint8Array)).toEqual([1, 0, 0, 1, 0]);
    expectClose(r.min!, { data: [1.5, -3, 3, 0, -1], shape: [5] }, 0);
    expect(r.i64!.dtype).toBe("int64");
    expect(Array.from(r.i64!.data as BigInt64Array)).toEqual([1n, -2n, 3n, 0n, 9n]);
    expect(r.i32!.data).toEqual(new Int32Array([1, 0, 0, 1, 0]));
  });

  it("bool graph inputs and int64 inputs round-trip", async () => {
    const b = new OnnxGraphBuilder();
    const m = b.input("m", "bool", [3]);
    const k = b.input("k", "int64", [3]);
    b.output("notm", "bool", [3], b.node("Not", [m])[0]);
    b.output("k2", "int64", [3], b.node("Mul", [k, b.constInt64([2], [])])[0]);
    const r = await runGraph(b, {
      m: tensor("bool", [3], new Uint8Array([1, 0, 1])),
      k: tensor("int64", [3], new BigInt64Array([2n ** 40n, -5n, 0n])),
    });
    expect(Array.from(r.notm!.data as Uint8Array)).toEqual([0, 1, 0]);
    expect(Array.from(r.k2!.data as BigInt64Array)).toEqual([2n ** 41n, -10n, 0n]);
  });
});
