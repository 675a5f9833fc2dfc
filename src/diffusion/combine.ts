/**
 * Linear combinations of tensors with float64 coefficients, the building block of every sampler
 * update (x_{t-1} = a x_t + b x0_hat + c noise ...). Terms are multiplied and summed left to right in
 * float32, the order in which diffusers' expressions evaluate, so results track the reference.
 */
import * as T from "../tensor/index.js";

/** One term `coefficient * tensor`. */
export type Term = readonly [number, T.Tensor];

/**
 * sum_i c_i x_i, evaluated as ((c_0 x_0 + c_1 x_1) + c_2 x_2) + ...; a coefficient of exactly 1 skips
 * its multiply. Every term is kept even when its coefficient is 0, so that a non-finite tensor still
 * poisons the sum as it does in the reference.
 */
export function lincomb(...terms: readonly Term[]): T.Tensor {
  if (terms.length === 0)
    throw new Error("lincomb: terms is empty, expected at least one [coefficient, tensor]");
  const scaled = (c: number, x: T.Tensor) => (c === 1 ? x : T.mul(x, c));
  let out = scaled(terms[0][0], terms[0][1]);
  for (let i = 1; i < terms.length; i++) out = T.add(out, scaled(terms[i][0], terms[i][1]));
  return out;
}

/** A tensor of one coefficient per batch element, shaped [B, 1, ..., 1] to broadcast over `like`. */
export function perBatch(values: ArrayLike<number>, like: T.Tensor): T.Tensor {
  if (like.rank < 1 || values.length !== like.shape[0]) {
    throw new Error(
      `timesteps has ${values.length} entries, expected one per batch element (${like.shape[0] ?? "no batch axis"})`,
    );
  }
  const shape = [values.length, ...new Array<number>(like.rank - 1).fill(1)];
  return T.tensor(Float32Array.from(values), shape);
}
