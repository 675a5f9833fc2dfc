/**
 * Random tensors from explicit keys (Philox4x32-10, src/random): the same key gives the same values,
 * eager or compiled. Randomness is drawn on the host; a compiled function takes random tensors as
 * inputs, which is what makes compiled training steps replayable and resumable.
 */
import { type Key, normal, randint as randomInts, uniform } from "../random/index.js";
import { fmt, type Shape, size } from "./shape.js";
import { Tensor } from "./tensor.js";

function checkShape(shape: Shape, what: string): number {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RangeError(`${what}: shape ${fmt(shape)} must hold non-negative integers`);
  }
  return size(shape);
}

/** Standard normal float32 values of `shape`. */
export function randn(key: Key, shape: Shape): Tensor {
  return new Tensor(shape, "float32", normal(key, checkShape(shape, "randn")));
}

/** Uniform float32 values in [0, 1) of `shape`. */
export function rand(key: Key, shape: Shape): Tensor {
  return new Tensor(shape, "float32", uniform(key, checkShape(shape, "rand")));
}

/** Uniform int32 values in [low, high) of `shape`. */
export function randint(key: Key, shape: Shape, low: number, high: number): Tensor {
  return new Tensor(shape, "int32", randomInts(key, checkShape(shape, "randint"), low, high));
}
