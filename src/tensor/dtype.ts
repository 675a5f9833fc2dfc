/** Element types of tensors. `bool` is stored one byte per element (0 or 1). */
export type DType = "float32" | "int32" | "bool";

export type TypedArray = Float32Array | Int32Array | Uint8Array;

export type ArrayFor<D extends DType> = D extends "float32"
  ? Float32Array
  : D extends "int32"
    ? Int32Array
    : Uint8Array;

export const DTYPES: readonly DType[] = ["float32", "int32", "bool"];

/** A fresh zero-filled buffer of `n` elements of `dtype`. */
export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "int32":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** The dtype a typed array holds. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Int32Array) return "int32";
  return "bool";
}
