/** Element types of ONNX values in diffuse, their typed arrays, and host-tensor validation. */

/** Element types diffuse uses in ONNX graphs (`bool` is one byte per element, 0 or 1). */
export type OnnxDType = "float32" | "int32" | "int64" | "bool";

/** The typed arrays holding elements of each dtype. */
export type OnnxArray = Float32Array | Int32Array | BigInt64Array | Uint8Array;

const ARRAY_OF: Record<OnnxDType, { name: string; is: (a: unknown) => boolean }> = {
  float32: { name: "Float32Array", is: (a) => a instanceof Float32Array },
  int32: { name: "Int32Array", is: (a) => a instanceof Int32Array },
  int64: { name: "BigInt64Array", is: (a) => a instanceof BigInt64Array },
  bool: { name: "Uint8Array", is: (a) => a instanceof Uint8Array },
};

export function isOnnxDType(type: unknown): type is OnnxDType {
  return typeof type === "string" && Object.hasOwn(ARRAY_OF, type);
}

/** Element count of a static shape. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Throws unless `dtype` is an OnnxDType, `shape` holds non-negative integers, and `data` is the
 * typed array of `dtype` with `prod(shape)` elements. `where` prefixes the error message.
 */
export function checkTensorData(
  where: string,
  dtype: OnnxDType,
  shape: readonly number[],
  data: unknown,
): void {
  if (!isOnnxDType(dtype))
    throw new TypeError(`${where}: dtype got "${dtype}", expected float32, int32, int64 or bool`);
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`${where}: shape [${shape}] has dimension ${d}, expected non-negative integers`);
    }
  }
  const kind = ARRAY_OF[dtype];
  if (!kind.is(data)) {
    const got = (data as object | null | undefined)?.constructor?.name ?? String(data);
    throw new TypeError(`${where}: data for dtype ${dtype} got ${got}, expected ${kind.name}`);
  }
  const n = (data as OnnxArray).length;
  if (n !== shapeSize(shape)) {
    throw new RangeError(
      `${where}: data has ${n} elements, expected ${shapeSize(shape)} for shape [${shape}]`,
    );
  }
}
