/** OnnxSession on onnxruntime-node: initializers, several outputs, pre-allocated outputs, errors. */
import { describe, expect, it } from "vitest";
import { attr, OnnxGraphBuilder } from "../../src/onnx/builder.js";
import { createNodeSession } from "../../src/onnx/node.js";
import { expectClose, randomFloats, tensor } from "./helpers.js";

/** y = x @ W + b (W, b initializers) and s = sum(y, axis 1), with a symbolic batch dimension. */
function affineModel(w: Float32Array, bias: Float32Array): Uint8Array {
  const b = new OnnxGraphBuilder();
  const x = b.input("x", "float32", ["batch", 3]);
  const W = b.initializer("float32", [3, 2], w, "W");
  const [xw] = b.node("MatMul", [x, W]);
  const [y] = b.node("Add", [xw!, b.initializer("float32", [2], bias)]);
  b.output("y", "float32", ["batch", 2], y);
  const [s] = b.node("ReduceSum", ["y", b.constInt64([1])], { keepdims: attr.int(0) });
  b.output("s", "float32", ["batch"], s);
  return b.toModel();
}

const w = randomFloats(6, 21);
const bias = randomFloats(2, 22);
function affineRef(x: Float32Array, n: number) {
  const y: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < 2; j++)
      y.push(bias[j]! + x[i * 3]! * w[j]! + x[i * 3 + 1]! * w[2 + j]! + x[i * 3 + 2]! * w[4 + j]!);
  const s = Array.from({ length: n }, (_, i) => y[2 * i]! + y[2 * i + 1]!);
  return { y, s };
}

describe("OnnxSession", () => {
  it("runs a model with initializers and two outputs for several batch sizes", async () => {
    const session = await createNodeSession(affineModel(w, bias), { threads: 1 });
    expect(session.inputNames).toEqual(["x"]);
    expect(session.outputNames).toEqual(["y", "s"]);
    for (const n of [1, 4]) {
      const x = randomFloats(3 * n, n);
      const r = await session.run({ x: tensor("float32", [n, 3], x) });
      const ref = affineRef(x, n);
      expectClose(r.y!, { data: ref.y, shape: [n, 2] }, 1e-6);
      expectClose(r.s!, { data: ref.s, shape: [n] }, 1e-6);
    }
    await session.release();
  });

  it("fetches only the named outputs", async () => {
    const session = await createNodeSession(affineModel(w, bias), { threads: 1, optimization: "basic" });
    const x = randomFloats(6, 3);
    const r = await session.run({ x: tensor("float32", [2, 3], x) }, { s: null });
    expect(Object.keys(r)).toEqual(["s"]);
    expectClose(r.s!, { data: affineRef(x, 2).s, shape: [2] }, 1e-6);
    await session.release();
  });

  it("writes pre-allocated outputs in place, run after run", async () => {
    const session = await createNodeSession(affineModel(w, bias), { threads: 1 });
    const yBuf = new Float32Array(4).fill(Number.NaN);
    const sBuf = new Float32Array(2).fill(Number.NaN);
    for (const seed of [5, 6]) {
      const x = randomFloats(6, seed);
      const r = await session.run(
        { x: tensor("float32", [2, 3], x) },
        { y: tensor("float32", [2, 2], yBuf), s: tensor("float32", [2], sBuf) },
      );
      expect(r.y!.data).toBe(yBuf);
      expect(r.s!.data).toBe(sBuf);
      const ref = affineRef(x, 2);
      expectClose({ dtype: "float32", shape: [2, 2], data: yBuf }, { data: ref.y, shape: [2, 2] }, 1e-6);
      expectClose({ dtype: "float32", shape: [2], data: sBuf }, { data: ref.s, shape: [2] }, 1e-6);
    }
    await session.release();
  });

  it("rejects a pre-allocated output of the wrong shape", async () => {
    const session = await createNodeSession(affineModel(w, bias), { threads: 1 });
    const run = session.run(
      { x: tensor("float32", [2, 3], randomFloats(6, 1)) },
      { y: tensor("float32", [3, 2], new Float32Array(6)) },
    );
    await expect(run).rejects.toThrow(/run: ONNX Runtime failed: .*output 'y'.*has shape \{3,2\}/);
    await session.release();
  });

  it("rejects missing, unknown and mistyped feeds and unknown outputs, naming them", async () => {
    const session = await createNodeSession(affineModel(w, bias), { threads: 1 });
    const x = tensor("float32", [1, 3], new Float32Array(3));
    await expect(session.run({})).rejects.toThrow(/feed "x" is missing, expected inputs \[x\]/);
    await expect(session.run({ x, z: x })).rejects.toThrow(/feed "z" is not a model input/);
    await expect(session.run({ x: tensor("float32", [1, 3], new Float32Array(4)) })).rejects.toThrow(
      /feed "x": data has 4 elements, expected 3/,
    );
    await expect(session.run({ x: tensor("int32", [1, 3], new Float32Array(3)) })).rejects.toThrow(
      /feed "x": data for dtype int32 got Float32Array, expected Int32Array/,
    );
    await expect(session.run({ x }, { q: null })).rejects.toThrow(/output "q" is not a model output/);
    await session.release();
  });
});

describe("malformed models", () => {
  it("bytes that are not a ModelProto give a clear error", async () => {
    const junk = new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02, 0x03]);
    await expect(createNodeSession(junk)).rejects.toThrow(
      /OnnxSession\.create: ONNX Runtime rejected the model \(6 bytes\)/,
    );
  });

  it("an unknown operator and a type mismatch are reported by name", async () => {
    const b = new OnnxGraphBuilder();
    b.output("y", "float32", [2], b.node("NoSuchOp", [b.input("x", "float32", [2])])[0]);
    await expect(createNodeSession(b.toModel())).rejects.toThrow(/NoSuchOp/);

    const c = new OnnxGraphBuilder();
    const x = c.input("x", "float32", [2]);
    c.output("y", "float32", [2], c.node("Add", [x, c.constInt32([1, 2])])[0]);
    await expect(createNodeSession(c.toModel())).rejects.toThrow(/rejected the model.*Add/);
  });
});
