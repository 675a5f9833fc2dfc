import type { DType } from "./dtype.js";
import type { Shape } from "./shape.js";

/** An abstract value: what the shape rules know about a tensor. */
export interface Aval {
  readonly shape: Shape;
  readonly dtype: DType;
}
