/**
 * Projections onto convex sets as sampling constraints (tutorial 8.2.3: x_{t-1} = Pi_C(...)). A
 * `Projection` maps a batch [N, ...] to the nearest point (Euclidean, per sample) of a closed convex
 * set C; box.ts, linear.ts and sum.ts build the usual ones, and any user function of that type works.
 * Two places to apply it:
 * - `onX0(p)`: an X0Transform, x0-hat <- Pi_C(x0-hat) before every step (the scheduler then moves
 *   x_t towards a constrained x0-hat; with a deterministic sampler ending at sigma = 0 the result lies
 *   in C, since the last step returns x0-hat);
 * - `onSample(p, when)`: a StepHook, x_t <- Pi_C(x_t) after the steps `when` selects (default: every
 *   step). C is a set of data, so at high noise this distorts x_t: use it late (e.g. `lastSteps(k)`),
 *   or for sets that scale with the sample (a cone, a subspace A x = 0).
 * Projections compose with `sequence` (one sweep of alternating projections, von Neumann / POCS:
 * exact for one set, an approximation of the intersection for several).
 */
import type * as T from "../../tensor/index.js";
import type { HookInfo, StepHook, X0Transform } from "./hook.js";

/** The Euclidean projection of every sample of a batch onto a closed convex set. */
export type Projection = (x: T.Tensor) => T.Tensor;

/** x0-hat <- p(x0-hat) before each step. */
export function onX0(p: Projection): X0Transform {
  return (x0) => p(x0);
}

/** x_t <- p(x_t) after each step that `when` accepts (default all). */
export function onSample(p: Projection, when: (info: HookInfo) => boolean = () => true): StepHook {
  return (x, info) => (when(info) ? p(x) : undefined);
}

/** Selects the last `k` steps of a loop. */
export function lastSteps(k: number): (info: HookInfo) => boolean {
  return (info) => info.index >= info.total - k;
}

/** Applies the projections in order (one sweep of alternating projections). */
export function sequence(...ps: Projection[]): Projection {
  return (x) => ps.reduce((y, p) => p(y), x);
}

/** The values of `x` per sample: [N, D] rows of a flat copy, in float64. */
export function rowsOf(x: T.Tensor): { n: number; d: number; rows: Float64Array } {
  const n = x.shape[0] ?? 1;
  const v = x.values();
  return { n, d: v.length / n, rows: Float64Array.from(v) };
}
