/**
 * Conversions between safetensors element types and the float32 / int32 arrays the tensor layer
 * computes with. F16 is IEEE 754 binary16; BF16 is the top half of a binary32. Narrowing rounds to
 * nearest, ties to even (as `torch.Tensor.half()` / `.bfloat16()` do). Browser-safe.
 */
import { SafetensorsError, type StTensor } from "./safetensors.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 value of a binary16 bit pattern. */
export function f16BitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** The binary16 bit pattern nearest to float32 `x` (ties to even; overflow gives infinity). */
export function floatToF16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero) in binary16: shift the implicit-one mantissa right by 14 - e places.
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    return sign | roundShift(m, shift);
  }
  // roundShift may carry into the exponent field, which correctly rounds up to the next binade / inf.
  return sign | ((e << 10) + roundShift(mantissa, 13));
}

/** `m >> shift`, rounded to nearest with ties to even. */
function roundShift(m: number, shift: number): number {
  const q = Math.floor(m / 2 ** shift);
  const r = m - q * 2 ** shift;
  const half = 2 ** (shift - 1);
  return r > half || (r === half && q & 1) ? q + 1 : q;
}

/** The float32 value of a bfloat16 bit pattern. */
export function bf16BitsToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

/** The bfloat16 bit pattern nearest to float32 `x` (ties to even; NaN stays NaN). */
export function floatToBf16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The elements of any tensor as float32 (a copy unless the tensor already is F32). */
export function tensorToFloat32(t: StTensor): Float32Array {
  switch (t.dtype) {
    case "F32":
      return t.data;
    case "F16":
      return Float32Array.from(t.data, f16BitsToFloat);
    case "BF16":
      return Float32Array.from(t.data, bf16BitsToFloat);
    case "I64":
      return Float32Array.from(t.data, (v) => Number(v));
    default:
      return Float32Array.from(t.data);
  }
}

/**
 * The elements of an integer or BOOL tensor as int32 (a copy unless already I32). I64 values outside
 * the int32 range are an error; float dtypes are refused (cast them explicitly).
 */
export function tensorToInt32(t: StTensor, name = "tensor"): Int32Array {
  switch (t.dtype) {
    case "I32":
      return t.data;
    case "I64":
      return Int32Array.from(t.data, (v, i) => {
        if (v < -2147483648n || v > 2147483647n) {
          throw new SafetensorsError(`safetensors: ${name} element ${i} is ${v}, outside the int32 range`);
        }
        return Number(v);
      });
    case "I8":
    case "U8":
    case "BOOL":
      return Int32Array.from(t.data);
    default:
      throw new SafetensorsError(
        `safetensors: ${name} has dtype ${t.dtype}, expected an integer or BOOL dtype`,
      );
  }
}

/** A tensor of `dtype` F32, F16 or BF16 holding float32 `values` (rounded for the 16-bit types). */
export function float32Tensor(
  values: Float32Array,
  shape: number[],
  dtype: "F32" | "F16" | "BF16" = "F32",
): StTensor {
  if (dtype === "F32") return { dtype, shape, data: values };
  const convert = dtype === "F16" ? floatToF16Bits : floatToBf16Bits;
  return { dtype, shape, data: Uint16Array.from(values, convert) };
}
