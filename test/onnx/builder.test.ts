/** OnnxGraphBuilder: naming, constant deduplication, output binding and input validation. */
import { describe, expect, it } from "vitest";
import { attr, OnnxGraphBuilder } from "../../src/onnx/builder.js";
import { expectClose, runGraph, tensor } from "./helpers.js";

describe("OnnxGraphBuilder", () => {
  it("generates unique output names and the requested number of outputs", () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [4]);
    const parts = b.node("Split", [x, b.constInt64([2, 2])], { axis: attr.int(0) }, 2);
    const again = b.node("Split", [x, b.constInt64([2, 2])], { axis: attr.int(0) }, 2);
    const all = [...parts, ...again];
    expect(all).toHaveLength(4);
    expect(new Set(all).size).toBe(4);
  });

  it("deduplicates constants by dtype, shape and value", () => {
    const b = new OnnxGraphBuilder();
    expect(b.constInt64([1, 2])).toBe(b.constInt64([1, 2]));
    expect(b.constInt64([1, 2])).not.toBe(b.constInt64([1, 2], [2, 1]));
    expect(b.constInt64([1, 2])).not.toBe(b.constInt32([1, 2]));
    expect(b.constFloat([0.5])).toBe(b.constFloat(new Float32Array([0.5])));
    expect(b.constFloat([0])).not.toBe(b.constFloat([-0]));
    expect(b.constFloat([1])).not.toBe(b.constFloat([1], []));
  });

  it("rejects undefined inputs, duplicate names and bad initializer data, naming the field", () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [2]);
    expect(() => b.node("Add", [x, "nope"])).toThrow(/node Add input 1: "nope" is not defined/);
    expect(() => b.input("x", "float32", [2])).toThrow(/input: name "x" is already defined/);
    expect(() => b.initializer("float32", [2, 2], new Float32Array(3))).toThrow(/3 elements, expected 4/);
    expect(() => b.initializer("int64", [2], new Int32Array(2))).toThrow(
      /got Int32Array, expected BigInt64Array/,
    );
    expect(() => b.initializer("float32", [-1], new Float32Array(0))).toThrow(/dimension -1/);
    expect(() => b.output("y", "float32", [2])).toThrow(/output: "y" is not defined/);
    expect(() => new OnnxGraphBuilder().toModel()).toThrow(/no outputs/);
    b.output("x", "float32", [2]);
    expect(() => b.output("x", "float32", [2])).toThrow(/already a graph output/);
  });

  it("binds outputs by renaming node outputs; old names stay usable; inputs and repeats get Identity", async () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", [3]);
    const [r] = b.node("Relu", [x]);
    b.output("relu", "float32", [3], r);
    const nodesAfterRename = b.nodeCount;
    const [neg] = b.node("Neg", [r!]); // uses the old name of the renamed value
    b.output("neg", "float32", [3], neg);
    b.output("same", "float32", [3], x); // graph input as output
    b.output("relu2", "float32", [3], "relu"); // one value twice
    expect(nodesAfterRename).toBe(1);
    expect(b.nodeCount).toBe(4);
    const res = await runGraph(b, { x: tensor("float32", [3], new Float32Array([-1, 0, 2])) });
    expectClose(res.relu!, { data: [0, 0, 2], shape: [3] }, 0);
    expectClose(res.neg!, { data: [-0, -0, -2], shape: [3] }, 0);
    expectClose(res.same!, { data: [-1, 0, 2], shape: [3] }, 0);
    expectClose(res.relu2!, { data: [0, 0, 2], shape: [3] }, 0);
  });

  it("encodes TENSOR, FLOAT, FLOATS and STRING attributes that ORT accepts", async () => {
    const b = new OnnxGraphBuilder();
    const shape = b.input("shape", "int64", [2]);
    const x = b.input("x", "float32", [2, 2]);
    const [filled] = b.node("ConstantOfShape", [shape], {
      value: attr.tensor("float32", [1], new Float32Array([2.5])),
    });
    const [lrelu] = b.node("LeakyRelu", [x], { alpha: attr.float(0.25) });
    b.output("filled", "float32", [2, 3], filled);
    b.output("lrelu", "float32", [2, 2], lrelu);
    const [c] = b.node("Constant", [], { value_floats: attr.floats([1, 2, 3]) });
    b.output("c", "float32", [3], c);
    const [up] = b.node("Resize", [x, "", b.constFloat([2, 1])], { mode: attr.string("nearest") });
    b.output("up", "float32", [4, 2], up);
    const res = await runGraph(b, {
      shape: tensor("int64", [2], new BigInt64Array([2n, 3n])),
      x: tensor("float32", [2, 2], new Float32Array([-4, 4, 8, -8])),
    });
    expectClose(res.filled!, { data: [2.5, 2.5, 2.5, 2.5, 2.5, 2.5], shape: [2, 3] }, 0);
    expectClose(res.lrelu!, { data: [-1, 4, 8, -2], shape: [2, 2] }, 0);
    expectClose(res.c!, { data: [1, 2, 3], shape: [3] }, 0);
    expectClose(res.up!, { data: [-4, 4, -4, 4, 8, -8, 8, -8], shape: [4, 2] }, 0);
  });
});
