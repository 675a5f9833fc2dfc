import { describe, expect, it } from "vitest";
import { SafetensorsError, type StTensor } from "../../src/io/safetensors.js";
import {
  bf16BitsToFloat,
  f16BitsToFloat,
  float32Tensor,
  floatToBf16Bits,
  floatToF16Bits,
  tensorToFloat32,
  tensorToInt32,
} from "../../src/io/safetensors_convert.js";

describe("float16", () => {
  it("decodes known bit patterns", () => {
    expect(f16BitsToFloat(0x3c00)).toBe(1);
    expect(f16BitsToFloat(0xc000)).toBe(-2);
    expect(f16BitsToFloat(0x7bff)).toBe(65504);
    expect(f16BitsToFloat(0x0001)).toBe(2 ** -24);
    expect(f16BitsToFloat(0x0400)).toBe(2 ** -14);
    expect(f16BitsToFloat(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(f16BitsToFloat(0x7e00)).toBeNaN();
    expect(Object.is(f16BitsToFloat(0x8000), -0)).toBe(true);
  });

  it("every non-NaN pattern survives decode then encode", () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue;
      if (floatToF16Bits(f16BitsToFloat(h)) !== h) bad.push(h);
    }
    expect(bad).toEqual([]);
  });

  it("rounds to nearest, ties to even, overflowing to infinity", () => {
    expect(floatToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1+2^-10: even is 1
    expect(floatToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: even mantissa 2
    expect(floatToF16Bits(65519)).toBe(0x7bff);
    expect(floatToF16Bits(65520)).toBe(0x7c00);
    expect(floatToF16Bits(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal
    expect(floatToF16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(floatToF16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // carries into the smallest normal
    expect(floatToF16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToF16Bits(-1e10)).toBe(0xfc00);
  });
});

describe("bfloat16", () => {
  it("every non-NaN pattern survives decode then encode", () => {
    const bad: number[] = [];
    for (let b = 0; b < 0x10000; b++) {
      if ((b & 0x7f80) === 0x7f80 && b & 0x7f) continue;
      if (floatToBf16Bits(bf16BitsToFloat(b)) !== b) bad.push(b);
    }
    expect(bad).toEqual([]);
  });

  it("rounds to nearest, ties to even", () => {
    expect(floatToBf16Bits(1)).toBe(0x3f80);
    expect(floatToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Number.isNaN(bf16BitsToFloat(floatToBf16Bits(Number.NaN)))).toBe(true);
  });
});

describe("tensor conversions", () => {
  it("converts every dtype to float32", () => {
    expect(tensorToFloat32({ dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0xc000]) })).toEqual(
      new Float32Array([1, -2]),
    );
    expect(tensorToFloat32({ dtype: "BF16", shape: [1], data: new Uint16Array([0x4040]) })).toEqual(
      new Float32Array([3]),
    );
    expect(tensorToFloat32({ dtype: "I64", shape: [1], data: new BigInt64Array([-5n]) })).toEqual(
      new Float32Array([-5]),
    );
    expect(tensorToFloat32({ dtype: "F64", shape: [1], data: new Float64Array([0.1]) })).toEqual(
      new Float32Array([0.1]),
    );
  });

  it("converts integer dtypes to int32 and refuses the rest", () => {
    expect(tensorToInt32({ dtype: "I64", shape: [2], data: new BigInt64Array([7n, -3n]) })).toEqual(
      new Int32Array([7, -3]),
    );
    expect(tensorToInt32({ dtype: "I8", shape: [1], data: new Int8Array([-1]) })).toEqual(
      new Int32Array([-1]),
    );
    const big: StTensor = { dtype: "I64", shape: [1], data: new BigInt64Array([2n ** 40n]) };
    expect(() => tensorToInt32(big, "labels")).toThrow(/labels element 0 is 1099511627776/);
    const float: StTensor = { dtype: "F32", shape: [1], data: new Float32Array(1) };
    expect(() => tensorToInt32(float, "w")).toThrow(SafetensorsError);
  });

  it("builds half-precision tensors from float32", () => {
    const t = float32Tensor(new Float32Array([1, -2]), [2], "F16");
    expect(t).toEqual({ dtype: "F16", shape: [2], data: new Uint16Array([0x3c00, 0xc000]) });
    expect(float32Tensor(new Float32Array([1]), [1], "BF16").data).toEqual(new Uint16Array([0x3f80]));
  });
});
