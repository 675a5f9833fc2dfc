/**
 * Input checks for schedule and weight functions. Every failure names the field, the value it got
 * and what was expected, e.g. `num_train_timesteps 0 is not an integer >= 1`.
 */
import { InputError } from "../io/input-error.js";

/** Render a value for an error message: strings quoted, arrays summarised. */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value) || ArrayBuffer.isView(value))
    return `[array of ${(value as ArrayLike<unknown>).length}]`;
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

/**
 * The most diffusion steps T a config may ask for: the schedule tables are Float64Arrays of T entries
 * (diffusers' models use 1000; continuous-time models are evaluated on far fewer), and T = 1e9 would
 * allocate gigabytes before any check of the sampler ran.
 */
export const MAX_TRAIN_TIMESTEPS = 1_000_000;

/** Throw `<field> <value> is not <expected>` (an InputError naming the field). */
export function invalid(field: string, value: unknown, expected: string): never {
  throw new InputError(`${field} ${show(value)} is not ${expected}`, { field });
}

/** An integer in [min, max]. */
export function checkInteger(field: string, value: unknown, min: number, max = Infinity): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalid(field, value, max === Infinity ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`);
  }
  return value;
}

/** A finite number. */
export function checkFinite(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) invalid(field, value, "a finite number");
  return value;
}

/** A finite number > 0. */
export function checkPositive(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    invalid(field, value, "a finite number > 0");
  }
  return value;
}

/** One of a fixed set of strings. */
export function checkOneOf<T extends string>(field: string, value: unknown, options: readonly T[]): T {
  if (typeof value !== "string" || !options.includes(value as T)) {
    invalid(field, value, `one of ${options.join(", ")}`);
  }
  return value as T;
}

/** A boolean. */
export function checkBoolean(field: string, value: unknown): boolean {
  if (typeof value !== "boolean") invalid(field, value, "a boolean (true or false)");
  return value;
}
