import type { Aval } from "../aval.js";
import type { TypedArray } from "../dtype.js";

/** An eager kernel: operand buffers and abstract values in, a fresh output buffer out. */
export type Kernel<Params> = (
  data: readonly TypedArray[],
  avals: readonly Aval[],
  params: Params,
  out: Aval,
) => TypedArray;
