/**
 * Learning-rate schedules: pure functions of the optimisation step (0-based, the number of updates done
 * before the one being taken), with the semantics of transformers' `get_*_schedule_with_warmup`
 * (which diffusers' `get_scheduler` wraps): `lr(step) = lr * lambda(step)` where
 *
 * - warm-up (all but "constant"): `lambda = step / max(1, warmupSteps)` while `step < warmupSteps`;
 * - "constant": `lambda = 1`; "constant_with_warmup": 1 after the warm-up;
 * - "linear": `max(0, (totalSteps - step) / max(1, totalSteps - warmupSteps))`;
 * - "cosine": with `progress = (step - warmupSteps) / max(1, totalSteps - warmupSteps)`,
 *   `max(0, 0.5 * (1 + cos(pi * numCycles * 2 * progress)))` (numCycles 0.5: one half-cosine to zero);
 *   with a floor `minLr` (torch's CosineAnnealingLR `eta_min`, SGDR eq. 5, Loshchilov & Hutter 2017)
 *   the rate after the warm-up is `minLr + (lr - minLr) * lambda` instead of `lr * lambda`.
 *
 * The rate is computed in float64 in JS and fed to the (possibly compiled) training step as an input.
 */

export type LrScheduleConfig =
  | { kind: "constant"; lr: number }
  | { kind: "constant_with_warmup"; lr: number; warmupSteps: number }
  | { kind: "linear"; lr: number; warmupSteps: number; totalSteps: number }
  | {
      kind: "cosine";
      lr: number;
      warmupSteps: number;
      totalSteps: number;
      numCycles?: number;
      /** floor of the rate after the warm-up (eta_min); default 0 */
      minLr?: number;
    };

export type LrScheduleKind = LrScheduleConfig["kind"];

const KINDS: readonly LrScheduleKind[] = ["constant", "constant_with_warmup", "linear", "cosine"];

/**
 * Names accepted by `lrScheduleFromName`: diffusers' `--lr_scheduler` values, plus the transformers
 * function names without `get_`/`_schedule` (e.g. "cosine_with_warmup" for `get_cosine_schedule_with_warmup`).
 */
const NAME_ALIASES: Readonly<Record<string, LrScheduleKind>> = {
  constant: "constant",
  constant_with_warmup: "constant_with_warmup",
  linear: "linear",
  linear_with_warmup: "linear",
  cosine: "cosine",
  cosine_with_warmup: "cosine",
};

function fail(field: string, value: unknown, expected: string): never {
  throw new RangeError(`lr schedule: ${field} is ${JSON.stringify(value)}, expected ${expected}`);
}

function checkNonNegativeInt(field: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
    fail(field, value, "a non-negative integer");
}

/** Validates a schedule config; throws a RangeError naming the field, its value and what was expected. */
export function validateLrSchedule(config: LrScheduleConfig): LrScheduleConfig {
  if (!KINDS.includes(config.kind)) fail("kind", config.kind, `one of ${KINDS.join(", ")}`);
  if (typeof config.lr !== "number" || !Number.isFinite(config.lr) || config.lr < 0)
    fail("lr", config.lr, "a finite number >= 0");
  if (config.kind === "constant") return config;
  checkNonNegativeInt("warmupSteps", config.warmupSteps);
  if (config.kind === "constant_with_warmup") return config;
  checkNonNegativeInt("totalSteps", config.totalSteps);
  if (config.totalSteps < config.warmupSteps)
    fail("totalSteps", config.totalSteps, `>= warmupSteps (${config.warmupSteps})`);
  if (config.kind === "cosine" && config.numCycles !== undefined) {
    if (typeof config.numCycles !== "number" || !(config.numCycles > 0))
      fail("numCycles", config.numCycles, "a number > 0");
  }
  if (config.kind === "cosine" && config.minLr !== undefined) {
    if (typeof config.minLr !== "number" || !(config.minLr >= 0 && config.minLr <= config.lr))
      fail("minLr", config.minLr, `a number in [0, lr = ${config.lr}]`);
  }
  return config;
}

/** The multiplier `lambda(step)` of the base rate (transformers' `lr_lambda`). */
export function lrMultiplier(config: LrScheduleConfig, step: number): number {
  if (config.kind === "constant") return 1;
  const { warmupSteps } = config;
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  if (config.kind === "constant_with_warmup") return 1;
  const span = Math.max(1, config.totalSteps - warmupSteps);
  if (config.kind === "linear") return Math.max(0, (config.totalSteps - step) / span);
  const progress = (step - warmupSteps) / span;
  const numCycles = config.numCycles ?? 0.5;
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
}

/** Validates `config` once and returns `step -> learning rate` (step: 0-based integer). */
export function lrSchedule(config: LrScheduleConfig): (step: number) => number {
  validateLrSchedule(config);
  return (step) => {
    if (!Number.isInteger(step) || step < 0) fail("step", step, "a non-negative integer");
    const m = lrMultiplier(config, step);
    if (config.kind === "cosine" && config.minLr && step >= config.warmupSteps) {
      return config.minLr + (config.lr - config.minLr) * m;
    }
    return config.lr * m;
  };
}

/**
 * A schedule from a diffusers/transformers scheduler name (`--lr_scheduler cosine`, or
 * "cosine_with_warmup"), base rate and step counts.
 */
export function lrScheduleFromName(
  name: string,
  options: { lr: number; warmupSteps?: number; totalSteps?: number; numCycles?: number },
): LrScheduleConfig {
  const kind = NAME_ALIASES[name];
  if (!kind) fail("name", name, `one of ${Object.keys(NAME_ALIASES).join(", ")}`);
  const { lr, warmupSteps = 0, totalSteps = 0, numCycles } = options;
  const config: LrScheduleConfig =
    kind === "constant"
      ? { kind, lr }
      : kind === "constant_with_warmup"
        ? { kind, lr, warmupSteps }
        : kind === "linear"
          ? { kind, lr, warmupSteps, totalSteps }
          : { kind, lr, warmupSteps, totalSteps, ...(numCycles === undefined ? {} : { numCycles }) };
  return validateLrSchedule(config);
}
