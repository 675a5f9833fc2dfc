/** Reproducible randomness from explicit keys (Philox4x32-10). Browser-safe. */
export {
  assertKey,
  BitReader,
  Domain,
  deriveKey,
  foldIn,
  type Key,
  makeKey,
  randomBits,
  randomBitsAt,
  split,
} from "./philox.js";
export {
  bernoulli,
  boxMuller,
  normal,
  normalAt,
  permutation,
  randint,
  uniform,
  uniformBelow,
} from "./sample.js";
export { RngStream, type RngStreamState } from "./stream.js";
