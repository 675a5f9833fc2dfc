/**
 * Exponential moving average of parameters (Polyak averaging), with the decay schedules of diffusers'
 * `EMAModel` (training_utils.py, `get_decay` and `step`). After each optimiser step:
 *
 *   n <- n + 1                                      (EMAModel.optimization_step)
 *   s = max(0, n - updateAfterStep - 1)
 *   decay = 0                                        if s <= 0 (the first update copies the parameters)
 *         = clamp(d(s), minDecay, decay)            otherwise, with d(s) =
 *             "diffusers":        (1 + s) / (10 + s)                 (use_ema_warmup=False)
 *             "diffusers-warmup": 1 - (1 + s / invGamma)^-power      (use_ema_warmup=True)
 *   shadow <- shadow - (1 - decay) * (shadow - param)
 *
 * (diffusers 0.30; later releases use `decay` itself where 0.30 has (1 + s) / (10 + s): that is
 * "diffusers" with minDecay = decay), plus "constant": decay fixed from
 * the first update on (what the golden optimizer case uses). The decay is computed inside the graph from
 * the counter tensor n (as `1 - decay`, which avoids cancelling digits), so `emaUpdate` traces under
 * `T.compile`; `emaDecay` is the same schedule on JS numbers.
 */
import * as T from "../tensor/index.js";

export type EmaSchedule =
  | { kind: "constant"; decay: number }
  | { kind: "diffusers"; decay: number; minDecay?: number; updateAfterStep?: number }
  | {
      kind: "diffusers-warmup";
      decay: number;
      minDecay?: number;
      updateAfterStep?: number;
      /** default 1 */
      invGamma?: number;
      /** default 2/3 */
      power?: number;
    };

/** EMA state: the number of updates done (float32 scalar) and the averaged parameters. */
export interface EmaState<P> {
  step: T.Tensor;
  params: P;
}

/** diffusers' EMAModel constructor arguments (snake_case, as in its saved config). */
export interface DiffusersEmaArgs {
  decay?: number;
  min_decay?: number;
  update_after_step?: number;
  use_ema_warmup?: boolean;
  inv_gamma?: number;
  power?: number;
}

/** The schedule diffusers' `EMAModel(...)` would use, with its defaults. */
export function emaScheduleFromDiffusers(args: DiffusersEmaArgs = {}): EmaSchedule {
  const common = {
    decay: args.decay ?? 0.9999,
    minDecay: args.min_decay ?? 0,
    updateAfterStep: args.update_after_step ?? 0,
  };
  const schedule: EmaSchedule = args.use_ema_warmup
    ? { kind: "diffusers-warmup", ...common, invGamma: args.inv_gamma ?? 1, power: args.power ?? 2 / 3 }
    : { kind: "diffusers", ...common };
  return validateEmaSchedule(schedule);
}

function fail(field: string, value: unknown, expected: string): never {
  throw new RangeError(`ema: ${field} is ${JSON.stringify(value)}, expected ${expected}`);
}

export function validateEmaSchedule(s: EmaSchedule): EmaSchedule {
  if (!["constant", "diffusers", "diffusers-warmup"].includes(s.kind))
    fail("kind", s.kind, 'one of "constant", "diffusers", "diffusers-warmup"');
  if (!(s.decay >= 0 && s.decay <= 1)) fail("decay", s.decay, "a number in [0, 1]");
  if (s.kind === "constant") return s;
  const minDecay = s.minDecay ?? 0;
  if (!(minDecay >= 0 && minDecay <= s.decay))
    fail("minDecay", s.minDecay, `a number in [0, decay=${s.decay}]`);
  const after = s.updateAfterStep ?? 0;
  if (!(Number.isInteger(after) && after >= 0)) fail("updateAfterStep", after, "a non-negative integer");
  if (s.kind === "diffusers-warmup") {
    if (!((s.invGamma ?? 1) > 0)) fail("invGamma", s.invGamma, "a number > 0");
    if (!((s.power ?? 2 / 3) > 0)) fail("power", s.power, "a number > 0");
  }
  return s;
}

/** The decay used by the `optimizationStep`-th update (1-based), on JS numbers (diffusers' get_decay). */
export function emaDecay(schedule: EmaSchedule, optimizationStep: number): number {
  if (schedule.kind === "constant") return schedule.decay;
  const s = Math.max(0, optimizationStep - (schedule.updateAfterStep ?? 0) - 1);
  if (s <= 0) return 0;
  const raw =
    schedule.kind === "diffusers"
      ? (1 + s) / (10 + s)
      : 1 - (1 + s / (schedule.invGamma ?? 1)) ** -(schedule.power ?? 2 / 3);
  return Math.max(Math.min(raw, schedule.decay), schedule.minDecay ?? 0);
}

/** `1 - decay` for the update numbered by the float32 scalar `n` (1-based), as tensor ops. */
export function emaOneMinusDecay(schedule: EmaSchedule, n: T.Tensor): T.Tensor {
  if (schedule.kind === "constant") return T.full(n.shape, 1 - schedule.decay);
  const s = T.maximum(T.sub(n, (schedule.updateAfterStep ?? 0) + 1), 0);
  const raw =
    schedule.kind === "diffusers"
      ? T.div(9, T.add(s, 10)) // 1 - (1 + s) / (10 + s)
      : T.exp(T.mul(T.log(T.add(T.div(s, schedule.invGamma ?? 1), 1)), -(schedule.power ?? 2 / 3)));
  const clamped = T.minimum(T.maximum(raw, 1 - schedule.decay), 1 - (schedule.minDecay ?? 0));
  return T.where(T.greater(s, 0), clamped, 1);
}

/** The EMA before any update: a copy of the parameters. */
export function initEma<P>(params: P): EmaState<P> {
  return { step: T.scalar(0), params: T.mapTree((p) => T.add(p, 0), params) };
}

/** One EMA update towards `params` (diffusers' `EMAModel.step`); returns the new state. */
export function emaUpdate<P>(ema: EmaState<P>, params: P, schedule: EmaSchedule): EmaState<P> {
  const step = T.add(ema.step, 1);
  const rate = emaOneMinusDecay(schedule, step);
  const shadow = T.mapTree((s, p) => T.sub(s, T.mul(rate, T.sub(s, p))), ema.params, params);
  return { step, params: shadow };
}
