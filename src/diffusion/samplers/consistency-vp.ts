/**
 * Multistep consistency sampling (Song et al. 2023, "Consistency Models", Algorithm 1) for a
 * consistency function on a VP grid (train/consistency-loss.ts): f(x_t, n) -> x0 at grid point n with
 * x_t = alpha_n x0 + sigma_n eps.
 *
 *   x0 = f(x_T, N - 1)                 x_T ~ N(0, I) (the VP x at the top of the grid, alpha ~ 0)
 *   for n in the remaining (descending) grid indices:
 *     x_n = alpha_n x0 + sigma_n z,  z ~ N(0, I)     re-noise to level n
 *     x0  = f(x_n, n)
 * One network evaluation per listed index: `[N - 1]` is one-step generation. (The diffusers
 * `CMStochasticIterativeScheduler` is the same loop for Karras-VE consistency models.)
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import type { NoiseSource } from "../noise.js";

/** x0 from x_n at grid index n. */
export type GridConsistencyFn = (x: T.Tensor, n: number) => T.Tensor | Promise<T.Tensor>;

/**
 * Samples from `xT` (standard normal) through the strictly descending grid `indices` (the first is the
 * top, N - 1); `alpha` / `sigma` are the grid's VP coefficients per index.
 */
export async function sampleConsistencyVp(
  f: GridConsistencyFn,
  xT: T.Tensor,
  indices: readonly number[],
  grid: { alpha: ArrayLike<number>; sigma: ArrayLike<number> },
  noise: NoiseSource,
): Promise<T.Tensor> {
  if (indices.length === 0) invalid("indices.length", 0, "at least 1 (one-step generation: [N - 1])");
  indices.forEach((n, i) => {
    if (!(Number.isInteger(n) && n >= 0 && n < grid.alpha.length))
      invalid(`indices[${i}]`, n, `a grid index in [0, ${grid.alpha.length - 1}]`);
    if (i > 0 && !(n < indices[i - 1]!))
      invalid(`indices[${i}]`, n, `below indices[${i - 1}] (${indices[i - 1]})`);
  });
  let x0 = await f(xT, indices[0]!);
  for (const n of indices.slice(1)) {
    const xn = T.add(T.mul(x0, grid.alpha[n]!), T.mul(noise(x0.shape), grid.sigma[n]!));
    x0 = await f(xn, n);
  }
  return x0;
}
