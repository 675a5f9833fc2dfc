/**
 * Where a sampler's randomness comes from: a `NoiseSource` returns standard-normal draws of a shape.
 * Samplers never draw on their own, so a run is reproducible from a seed (`gaussianNoise`) and a
 * reference run can be replayed draw for draw (`replayNoise`, the golden `noise_by_step`).
 */
import { type Key, makeKey, normal, RngStream } from "../random/index.js";
import * as T from "../tensor/index.js";

/** Standard-normal draws of the given shape (float32). */
export type NoiseSource = (shape: readonly number[]) => T.Tensor;

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Draws from a seed or key: call i draws `normal(key_i, size)` with key_i the i-th key of an
 * `RngStream` on the root key, so the same seed gives the same draws, call by call.
 */
export function gaussianNoise(seed: number | Key): NoiseSource {
  const stream = new RngStream(typeof seed === "number" ? makeKey(seed) : seed);
  return (shape) => T.tensor(normal(stream.next(), sizeOf(shape)), [...shape]);
}

/** A noise source that replays recorded draws in order, and tells how many are left. */
export interface ReplayNoise extends NoiseSource {
  /** Number of recorded draws not yet used. */
  remaining(): number;
}

/**
 * Replays `draws` (each a flat array of one draw's values) in order. A draw of the wrong size, or a
 * call after the last draw, throws naming the draw index.
 */
export function replayNoise(draws: readonly ArrayLike<number>[]): ReplayNoise {
  let next = 0;
  const source = (shape: readonly number[]) => {
    if (next >= draws.length) {
      throw new Error(`noise draw ${next} was requested but only ${draws.length} draws were recorded`);
    }
    const values = draws[next];
    if (values.length !== sizeOf(shape)) {
      throw new Error(
        `noise draw ${next} has ${values.length} values but shape [${shape.join(", ")}] needs ${sizeOf(shape)}`,
      );
    }
    next++;
    return T.tensor(Float32Array.from(values), [...shape]);
  };
  return Object.assign(source, { remaining: () => draws.length - next });
}
