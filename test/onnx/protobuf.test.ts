/** Wire-format checks for ProtoWriter and the ModelProto field layout of OnnxGraphBuilder. */
import { describe, expect, it } from "vitest";
import { OnnxGraphBuilder } from "../../src/onnx/builder.js";
import { ProtoWriter } from "../../src/onnx/protobuf.js";

const bytes = (f: (w: ProtoWriter) => void) => {
  const w = new ProtoWriter(1);
  f(w);
  return Array.from(w.finish());
};

/** Decodes the top-level fields of a message: field number -> list of raw values. */
function decodeFields(buf: Uint8Array): Map<number, (bigint | Uint8Array | number)[]> {
  const out = new Map<number, (bigint | Uint8Array | number)[]>();
  let pos = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (b < 0x80) return v;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const [field, wire] = [key >>> 3, key & 7];
    let value: bigint | Uint8Array | number;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = Number(varint());
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 5) {
      value = new DataView(buf.buffer, buf.byteOffset + pos, 4).getFloat32(0, true);
      pos += 4;
    } else throw new Error(`unexpected wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

describe("ProtoWriter", () => {
  it("writes varints: small, multi-byte, above 2^32, bigint, negative as 10 bytes", () => {
    expect(bytes((w) => w.varint(0))).toEqual([0]);
    expect(bytes((w) => w.varint(300))).toEqual([0xac, 0x02]);
    expect(bytes((w) => w.varint(2 ** 35))).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    expect(bytes((w) => w.varint(2n ** 63n - 1n))).toEqual([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ]);
    expect(bytes((w) => w.varint(-1))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(bytes((w) => w.varint(-2n))).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  it("rejects values it cannot represent", () => {
    expect(() => new ProtoWriter().varint(2 ** 60)).toThrow(/safe integer/);
    expect(() => new ProtoWriter().varint(1.5)).toThrow(/safe integer/);
    expect(() => new ProtoWriter().varint(2n ** 64n)).toThrow(/\[-2\^63, 2\^64\)/);
    expect(() => new ProtoWriter().tag(0, 0)).toThrow(/field number/);
  });

  it("writes tags, fixed32 floats, strings, nested messages and packed fields", () => {
    expect(bytes((w) => w.floatField(2, 1))).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    expect(bytes((w) => w.stringField(1, "hé"))).toEqual([0x0a, 0x03, 0x68, 0xc3, 0xa9]);
    expect(bytes((w) => w.messageField(3, (s) => s.varintField(1, 150)))).toEqual([
      0x1a, 0x03, 0x08, 0x96, 0x01,
    ]);
    expect(bytes((w) => w.packedVarints(4, [3, 270, 86942]))).toEqual([
      0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05,
    ]);
    expect(bytes((w) => w.packedFloats(5, [1, -2]))).toEqual([0x2a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    expect(bytes((w) => w.repeatedVarints(8, [1, 2]))).toEqual([0x40, 1, 0x40, 2]);
    expect(bytes((w) => w.packedVarints(4, []))).toEqual([]);
  });

  it("grows past its initial capacity", () => {
    const big = new Uint8Array(20_000).map((_, i) => i & 0xff);
    const out = new ProtoWriter(1).bytesField(1, big).finish();
    expect(out.length).toBe(20_000 + 4); // tag + 3-byte length
    expect(out.subarray(4)).toEqual(big);
  });
});

describe("ModelProto layout", () => {
  it("has ir_version 8, producer, graph and opset_import {'' , 18}", () => {
    const b = new OnnxGraphBuilder();
    const x = b.input("x", "float32", ["N", 2]);
    b.output("y", "float32", ["N", 2], b.node("Relu", [x])[0]);
    const model = decodeFields(b.toModel({ producer: "test" }));
    expect(model.get(1)).toEqual([8n]);
    expect(new TextDecoder().decode(model.get(2)![0] as Uint8Array)).toBe("test");
    const opset = decodeFields(model.get(8)![0] as Uint8Array);
    expect(opset.get(1)).toEqual([new Uint8Array()]);
    expect(opset.get(2)).toEqual([18n]);
    const graph = decodeFields(model.get(7)![0] as Uint8Array);
    expect(graph.get(1)).toHaveLength(1); // one node
    expect(graph.get(11)).toHaveLength(1); // one input
    expect(graph.get(12)).toHaveLength(1); // one output
    const node = decodeFields(graph.get(1)![0] as Uint8Array);
    expect(new TextDecoder().decode(node.get(4)![0] as Uint8Array)).toBe("Relu");
  });
});
