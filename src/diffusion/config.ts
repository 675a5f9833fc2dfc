/**
 * Scheduler configs: plain objects with diffusers' snake_case field names (so a scheduler_config.json
 * written by diffusers loads here and ours loads there), parsed against a spec of defaults and checks.
 * Unknown fields are ignored with a warning (as diffusers' `extract_init_dict` does), naming the
 * closest known field when it is a likely misspelling; `_private` fields are ignored silently. Every
 * bad value throws naming the field, the value and what was expected.
 */
import { didYouMean } from "../util/names.js";
import { warn } from "../util/warn.js";

import { invalid, MAX_TRAIN_TIMESTEPS } from "./check.js";
import { PREDICTION_TYPES } from "./parametrization.js";
import { BETA_SCHEDULES } from "./schedules.js";
import { TIMESTEP_SPACINGS } from "./timesteps.js";

/** Checks one field's value, returning it typed. */
export type FieldCheck<V> = (field: string, value: unknown) => V;

export interface FieldSpec<V> {
  default: V;
  check: FieldCheck<V>;
}

export type ConfigSpec<C> = { [K in keyof C]: FieldSpec<C[K]> };

/** Parse `raw` (missing or null fields take their defaults, except nullable ones keep null). */
export function parseConfig<C>(spec: ConfigSpec<C>, raw: Record<string, unknown> = {}): C {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    invalid("config", raw, "an object of fields");
  const out = {} as C;
  const known = Object.keys(spec);
  for (const key of Object.keys(raw)) {
    if (key.startsWith("_") || Object.hasOwn(spec, key)) continue;
    warn(
      `scheduler config: field ${JSON.stringify(key)} is not expected and is ignored${didYouMean(key, known)}`,
    );
  }
  for (const key of known as (keyof C & string)[]) {
    const value = raw[key];
    out[key] = value === undefined ? spec[key].default : spec[key].check(key, value);
  }
  return out;
}

export const int =
  (min: number, max = Infinity): FieldCheck<number> =>
  (field, v) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      invalid(field, v, max === Infinity ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`);
    }
    return v;
  };

export const num =
  (min = -Infinity, max = Infinity): FieldCheck<number> =>
  (field, v) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      const range = min === -Infinity && max === Infinity ? "" : ` in [${min}, ${max}]`;
      invalid(field, v, `a finite number${range}`);
    }
    return v;
  };

export const bool: FieldCheck<boolean> = (field, v) => {
  if (typeof v !== "boolean") invalid(field, v, "a boolean (true or false)");
  return v;
};

export const oneOf =
  <T extends string>(options: readonly T[]): FieldCheck<T> =>
  (field, v) => {
    if (typeof v !== "string" || !options.includes(v as T)) invalid(field, v, `one of ${options.join(", ")}`);
    return v as T;
  };

export const nullable =
  <T>(check: FieldCheck<T>): FieldCheck<T | null> =>
  (field, v) =>
    v === null ? null : check(field, v);

export const numberArray: FieldCheck<number[]> = (field, v) => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
    invalid(field, v, "an array of finite numbers");
  }
  return v;
};

export const intArray: FieldCheck<number[]> = (field, v) => {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) invalid(field, v, "an array of integers");
  return v;
};

/** A number that may be -Infinity; JSON's null (what JSON.stringify writes for -Infinity) reads as -Infinity. */
export const numOrMinusInf: FieldCheck<number> = (field, v) => {
  if (v === null || v === -Infinity) return -Infinity;
  if (typeof v !== "number" || Number.isNaN(v) || v === Infinity) invalid(field, v, "a number or -Infinity");
  return v;
};

/** Beta-schedule fields shared by the discrete-time schedulers (checked in depth by `betasFor`). */
export const betaFields = (
  betaStart = 0.0001,
  betaEnd = 0.02,
  schedule: (typeof BETA_SCHEDULES)[number] = "linear",
) => ({
  num_train_timesteps: { default: 1000, check: int(1, MAX_TRAIN_TIMESTEPS) },
  beta_start: { default: betaStart, check: num(0, 1) },
  beta_end: { default: betaEnd, check: num(0, 1) },
  beta_schedule: { default: schedule as string, check: oneOf(BETA_SCHEDULES) as FieldCheck<string> },
  trained_betas: { default: null as number[] | null, check: nullable(numberArray) },
});

export const predictionField = {
  prediction_type: {
    default: "epsilon" as (typeof PREDICTION_TYPES)[number],
    check: oneOf(PREDICTION_TYPES),
  },
};

export const spacingFields = (spacing: (typeof TIMESTEP_SPACINGS)[number]) => ({
  timestep_spacing: {
    default: spacing as (typeof TIMESTEP_SPACINGS)[number],
    check: oneOf(TIMESTEP_SPACINGS),
  },
  steps_offset: { default: 0, check: int(0) },
});

export const thresholdFields = {
  thresholding: { default: false, check: bool },
  dynamic_thresholding_ratio: { default: 0.995, check: num(0, 1) },
  sample_max_value: { default: 1.0, check: num(1) },
};

export const clipFields = (clip: boolean) => ({
  clip_sample: { default: clip, check: bool },
  clip_sample_range: { default: 1.0, check: num(0) },
});

export const rescaleField = { rescale_betas_zero_snr: { default: false, check: bool } };

/** The fields every beta-schedule config has, as a type. */
export interface BetaConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: number[] | null;
  rescale_betas_zero_snr?: boolean;
}
