import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  compareCodePoints,
  dtypeItemsize,
  parseSafetensors,
  SafetensorsError,
  type StTensor,
  serializeSafetensors,
} from "../../src/io/safetensors.js";

const GOLDEN = join(import.meta.dirname, "../fixtures/golden");

function safetensorsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return safetensorsFiles(path);
    return e.name.endsWith(".safetensors") ? [path] : [];
  });
}

const goldenFiles = safetensorsFiles(GOLDEN);

function headerLength(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
}

describe("golden safetensors files", () => {
  it("finds golden files", () => {
    expect(goldenFiles.length).toBeGreaterThan(0);
  });

  for (const file of goldenFiles) {
    const id = file.slice(GOLDEN.length + 1);
    const bytes = new Uint8Array(readFileSync(file));

    it(`${id}: sizes add up and values match the raw bytes`, () => {
      const { tensors } = parseSafetensors(bytes);
      expect(tensors.size).toBeGreaterThan(0);
      let total = 0;
      for (const t of tensors.values()) total += t.data.length * dtypeItemsize(t.dtype);
      expect(8 + headerLength(bytes) + total).toBe(bytes.length);
      // The first tensor in data order starts the data section: compare its first element directly.
      const [first] = tensors.values();
      const start = 8 + headerLength(bytes);
      if (first!.dtype === "F32" && first!.data.length > 0) {
        expect(first!.data[0]).toBe(new DataView(bytes.buffer, bytes.byteOffset).getFloat32(start, true));
      }
    });

    it(`${id}: serialize(parse(file)) is byte-identical`, () => {
      const { tensors, metadata } = parseSafetensors(bytes);
      expect(Buffer.from(serializeSafetensors(tensors, metadata)).equals(Buffer.from(bytes))).toBe(true);
    });

    const config = join(dirname(file), "config.json");
    if (file.endsWith("diffusion_pytorch_model.safetensors") && existsSync(config)) {
      it(`${id}: conv_in matches config.json in_channels`, () => {
        const { in_channels } = JSON.parse(readFileSync(config, "utf8")) as { in_channels: number };
        const { tensors } = parseSafetensors(bytes);
        const convIn = tensors.get("conv_in.weight") ?? tensors.get("encoder.conv_in.weight");
        expect(convIn?.shape.length).toBe(4);
        expect(convIn?.shape[1]).toBe(in_channels);
      });
    }
  }

  it("parses from an unaligned view", () => {
    const bytes = new Uint8Array(readFileSync(goldenFiles[0]!));
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const a = parseSafetensors(bytes);
    const b = parseSafetensors(shifted.subarray(1));
    const raw = (t: StTensor | undefined) =>
      Buffer.from(t!.data.buffer, t!.data.byteOffset, t!.data.byteLength);
    for (const [name, t] of a.tensors) expect(raw(b.tensors.get(name)).equals(raw(t))).toBe(true);
  });
});

describe("serializeSafetensors layout (reference serialize)", () => {
  const text = (bytes: Uint8Array, from: number, to: number) =>
    new TextDecoder().decode(bytes.subarray(from, to));

  it("writes compact JSON without padding when already 8-aligned", () => {
    const data = new Float32Array([0, 1, 2, 3, 4, 5]);
    const out = serializeSafetensors({ "attn.0": { dtype: "F32", shape: [1, 2, 3], data } });
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(headerLength(out)).toBe(header.length);
    expect(text(out, 8, 8 + header.length)).toBe(header);
    expect(new Float32Array(out.slice(8 + header.length).buffer)).toEqual(data);
  });

  it("pads the header with spaces to a multiple of 8", () => {
    expect(text(serializeSafetensors({}), 8, 16)).toBe("{}      ");
    const withMeta = serializeSafetensors(new Map(), { framework: "pt" });
    expect(headerLength(withMeta)).toBe(40);
    expect(text(withMeta, 8, 48)).toBe('{"__metadata__":{"framework":"pt"}}     ');
  });

  it("orders tensors by descending dtype alignment, then by name", () => {
    const out = serializeSafetensors({
      b: { dtype: "F32", shape: [1], data: new Float32Array(1) },
      a: { dtype: "F32", shape: [1], data: new Float32Array(1) },
      z: { dtype: "U8", shape: [3], data: new Uint8Array(3) },
      y: { dtype: "BOOL", shape: [1], data: new Uint8Array(1) },
      h: { dtype: "BF16", shape: [1], data: new Uint16Array(1) },
      g: { dtype: "F16", shape: [1], data: new Uint16Array(1) },
      l: { dtype: "I64", shape: [1], data: new BigInt64Array(1) },
      d: { dtype: "F64", shape: [1], data: new Float64Array(1) },
      i: { dtype: "I32", shape: [1], data: new Int32Array(1) },
      j: { dtype: "I8", shape: [1], data: new Int8Array(1) },
    });
    expect([...parseSafetensors(out).tensors.keys()]).toEqual([
      "l",
      "d",
      "a",
      "b",
      "i",
      "h",
      "g",
      "j",
      "z",
      "y",
    ]);
  });

  it("sorts names by code point (UTF-8 byte order), like Rust", () => {
    expect(compareCodePoints("\u{1F600}", "\uFF61")).toBeGreaterThan(0);
    expect(compareCodePoints("ab", "abc")).toBeLessThan(0);
    expect(compareCodePoints("b", "a")).toBeGreaterThan(0);
  });

  it("round-trips every dtype, scalars, empty tensors, metadata and odd names", () => {
    const tensors: Record<string, StTensor> = {
      f32: {
        dtype: "F32",
        shape: [2, 2],
        data: new Float32Array([1.5, -2, Number.NaN, Number.POSITIVE_INFINITY]),
      },
      f64: { dtype: "F64", shape: [3], data: new Float64Array([Math.PI, -0, 1e300]) },
      f16: { dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0xfbff]) },
      bf16: { dtype: "BF16", shape: [2], data: new Uint16Array([0x3f80, 0x7f80]) },
      i32: { dtype: "I32", shape: [], data: new Int32Array([-7]) },
      i64: { dtype: "I64", shape: [2], data: new BigInt64Array([-(2n ** 62n), 2n ** 40n]) },
      i8: { dtype: "I8", shape: [3], data: new Int8Array([-128, 0, 127]) },
      u8: { dtype: "U8", shape: [0, 4], data: new Uint8Array(0) },
      bool: { dtype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) },
      'quote"and\\slash\n\u00e9': { dtype: "U8", shape: [1], data: new Uint8Array([9]) },
      "0": { dtype: "U8", shape: [1], data: new Uint8Array([3]) },
    };
    const metadata = { format: "pt", note: 'a "quoted"\tvalue \u2603' };
    const bytes = serializeSafetensors(tensors, metadata);
    const parsed = parseSafetensors(bytes);
    expect(parsed.metadata).toEqual(metadata);
    expect(parsed.tensors.size).toBe(Object.keys(tensors).length);
    for (const [name, t] of Object.entries(tensors)) expect(parsed.tensors.get(name)).toEqual(t);
    expect(serializeSafetensors(parsed.tensors, parsed.metadata)).toEqual(bytes);
    expect(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength(bytes))))).toBeTypeOf(
      "object",
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Malformed files

/** A file with `header` (object or raw text) and `dataLength` zero bytes of data. */
function fileWith(header: unknown, dataLength: number, declaredLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

const f32 = (shape: number[], data_offsets: unknown) => ({ dtype: "F32", shape, data_offsets });

const MALFORMED: { case: string; bytes: Uint8Array; expect: string[] }[] = [
  { case: "shorter than 8 bytes", bytes: new Uint8Array(5), expect: ["5 bytes", "8-byte"] },
  {
    case: "header longer than file",
    bytes: fileWith({}, 0, 100n),
    expect: ["header length 100", "exceeds the file"],
  },
  {
    case: "absurd header length",
    bytes: fileWith({}, 0, 2n ** 63n),
    expect: ["9223372036854775808", "100000000"],
  },
  { case: "not UTF-8", bytes: fileWith("\u0000", 0).fill(0xff, 8), expect: ["not valid UTF-8"] },
  { case: "not JSON", bytes: fileWith("{oops", 0), expect: ["not valid JSON", "{oops"] },
  { case: "JSON array", bytes: fileWith([1, 2], 0), expect: ["an array", "expected a JSON object"] },
  {
    case: "entry not object",
    bytes: fileWith({ w: 3 }, 0),
    expect: ['tensor "w"', "3", "expected an object"],
  },
  {
    case: "missing dtype",
    bytes: fileWith({ w: { shape: [1], data_offsets: [0, 4] } }, 4),
    expect: ['"w"', '"dtype"'],
  },
  {
    case: "unknown dtype",
    bytes: fileWith({ w: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, 1),
    expect: ['"w"', 'dtype "F8_E4M3"', "F32"],
  },
  {
    case: "dtype not string",
    bytes: fileWith({ w: { dtype: 4, shape: [1], data_offsets: [0, 4] } }, 4),
    expect: ['"w"', "dtype 4"],
  },
  {
    case: "missing shape",
    bytes: fileWith({ w: { dtype: "F32", data_offsets: [0, 4] } }, 4),
    expect: ['"w"', '"shape"'],
  },
  {
    case: "shape not array",
    bytes: fileWith({ w: f32(3 as never, [0, 12]) }, 12),
    expect: ['"w"', "shape", "a number"],
  },
  {
    case: "negative dim",
    bytes: fileWith({ w: f32([2, -1], [0, 8]) }, 8),
    expect: ['"w"', "shape [2,-1]", "-1 at index 1"],
  },
  {
    case: "fractional dim",
    bytes: fileWith({ w: f32([1.5], [0, 6]) }, 6),
    expect: ['"w"', "1.5", "non-negative integer"],
  },
  {
    case: "missing offsets",
    bytes: fileWith({ w: { dtype: "F32", shape: [1] } }, 4),
    expect: ['"w"', '"data_offsets"'],
  },
  {
    case: "three offsets",
    bytes: fileWith({ w: f32([1], [0, 4, 8]) }, 8),
    expect: ['"w"', "data_offsets [0,4,8]", "2 entries"],
  },
  {
    case: "negative offset",
    bytes: fileWith({ w: f32([1], [-4, 0]) }, 4),
    expect: ['"w"', "data_offsets", "-4"],
  },
  {
    case: "end before begin",
    bytes: fileWith({ w: f32([1], [8, 4]) }, 8),
    expect: ['"w"', "[8, 4]", "end before begin"],
  },
  {
    case: "offsets past data",
    bytes: fileWith({ "conv_in.weight": f32([1000], [0, 4000]) }, 3456),
    expect: ['tensor "conv_in.weight" data_offsets [0, 4000] exceed the data section (3456 bytes)'],
  },
  {
    case: "wrong byte length",
    bytes: fileWith({ w: f32([2, 2], [0, 12]) }, 12),
    expect: ['"w"', "12 bytes", "F32", "16 bytes"],
  },
  {
    case: "overlap",
    bytes: fileWith({ a: f32([4], [0, 16]), b: f32([4], [8, 24]) }, 24),
    expect: ['"a"', '"b"', "[8, 24]", "overlap"],
  },
  {
    case: "gap",
    bytes: fileWith({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, 12),
    expect: ["[4, 8)", '"a"', "no tensor"],
  },
  { case: "trailing bytes", bytes: fileWith({ a: f32([1], [0, 4]) }, 10), expect: ["10 bytes", "only 4"] },
  {
    case: "metadata not object",
    bytes: fileWith({ __metadata__: [1] }, 0),
    expect: ["__metadata__", "an array"],
  },
  {
    case: "metadata value not string",
    bytes: fileWith({ __metadata__: { epoch: 3 } }, 0),
    expect: ["__metadata__", 'key "epoch"', "value 3", "expected a string"],
  },
];

describe("parseSafetensors rejects malformed files", () => {
  for (const { case: name, bytes, expect: parts } of MALFORMED) {
    it(name, () => {
      let error: unknown;
      try {
        parseSafetensors(bytes);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SafetensorsError);
      for (const part of parts) expect((error as Error).message).toContain(part);
    });
  }
});

describe("serializeSafetensors rejects bad input", () => {
  const bad: { case: string; tensors: Record<string, unknown>; metadata?: unknown; expect: string[] }[] = [
    {
      case: "wrong array type",
      tensors: { w: { dtype: "F32", shape: [2], data: new Float64Array(2) } },
      expect: ['"w"', "F32", "Float32Array", "Float64Array"],
    },
    {
      case: "length mismatch",
      tensors: { w: { dtype: "I32", shape: [2, 3], data: new Int32Array(5) } },
      expect: ['"w"', "5 elements", "6"],
    },
    {
      case: "unknown dtype",
      tensors: { w: { dtype: "Q4", shape: [1], data: new Uint8Array(1) } },
      expect: ['"w"', "Q4"],
    },
    {
      case: "bad shape",
      tensors: { w: { dtype: "U8", shape: [-1], data: new Uint8Array(1) } },
      expect: ['"w"', "-1"],
    },
    {
      case: "reserved name",
      tensors: { __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array(0) } },
      expect: ["__metadata__"],
    },
    { case: "metadata value", tensors: {}, metadata: { a: 1 }, expect: ['metadata key "a"', "value 1"] },
  ];
  for (const { case: name, tensors, metadata, expect: parts } of bad) {
    it(name, () => {
      const run = () =>
        serializeSafetensors(tensors as Record<string, StTensor>, metadata as Record<string, string>);
      expect(run).toThrow(SafetensorsError);
      for (const part of parts) expect(run).toThrow(part);
    });
  }
});
