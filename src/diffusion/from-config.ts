/**
 * `schedulerFromConfig(name, config)`: a scheduler of class `name` built from another scheduler's
 * config (typically a model's scheduler_config.json, a DDPMScheduler), as diffusers'
 * `SchedulerMixin.from_config` does (diffusers 0.30, configuration_utils.py `extract_init_dict`):
 *
 *   1. keys listed in `_use_default_values` are dropped (the saver used defaults for them);
 *   2. keys that a compatible class knows but the target does not are dropped silently (diffusers'
 *      `_compatibles`: the Karras family DDPM, DDIM, PNDM, LMS, Euler, Euler a, Heun, DPM-Solver,
 *      UniPC accept each other's configs; flow matching and consistency models have only themselves);
 *   3. keys of the config's own `_class_name` that the target does not know are dropped silently;
 *   4. `_private` keys are dropped;
 *   5. the target's keys are passed on; whatever remains is unexpected: ignored with ONE warning that
 *      lists it (diffusers' "The config attributes ... were passed to X, but are not expected and will
 *      be ignored"), naming the closest known key for a likely misspelling (`clip_smaple`).
 * `overrides` are applied on top (diffusers' `from_config(config, **kwargs)`). Browser-safe.
 */
import { didYouMean } from "../util/names.js";
import { type WarnFn, warn } from "../util/warn.js";
import { invalid } from "./check.js";
import { createScheduler, SCHEDULER_NAMES, schedulerClassName } from "./registry.js";
import type { Scheduler } from "./scheduler.js";

/** diffusers' KarrasDiffusionSchedulers that exist here: each lists all the others as `_compatibles`. */
export const KARRAS_COMPATIBLE: readonly string[] = [
  "DDPMScheduler",
  "DDIMScheduler",
  "PNDMScheduler",
  "LMSDiscreteScheduler",
  "EulerDiscreteScheduler",
  "EulerAncestralDiscreteScheduler",
  "HeunDiscreteScheduler",
  "DPMSolverMultistepScheduler",
  "DPMSolverSinglestepScheduler",
  "UniPCMultistepScheduler",
];

const keyCache = new Map<string, ReadonlySet<string>>();

/** The config keys of scheduler class `className` (its constructor's parameters). */
export function schedulerConfigKeys(className: string): ReadonlySet<string> {
  let keys = keyCache.get(className);
  if (!keys) {
    keys = new Set(Object.keys(createScheduler(className, {}).config));
    keyCache.set(className, keys);
  }
  return keys;
}

/** The classes whose config keys `className` accepts silently (itself included). */
export function compatibleSchedulers(className: string): readonly string[] {
  return KARRAS_COMPATIBLE.includes(className) ? KARRAS_COMPATIBLE : [className];
}

export interface FromConfigOptions {
  /** Fields set on top of the config (diffusers' `**kwargs`); unknown ones warn too. */
  overrides?: Record<string, unknown>;
  /** Where the warning goes (default: the library's sink, console.warn unless set by `setWarn`). */
  warn?: WarnFn;
}

/** Splits `config` into the target's init fields and the unexpected ones (steps 1-5 above). */
export function extractInitConfig(
  className: string,
  config: Record<string, unknown>,
): { init: Record<string, unknown>; unexpected: Record<string, unknown> } {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    invalid("scheduler config", config, "an object of fields");
  }
  const expected = schedulerConfigKeys(className);
  const usedDefaults = Array.isArray(config._use_default_values) ? config._use_default_values : [];
  const silent = new Set<string>();
  for (const c of compatibleSchedulers(className)) for (const k of schedulerConfigKeys(c)) silent.add(k);
  const orig = config._class_name;
  if (typeof orig === "string" && orig !== className && SCHEDULER_NAMES.includes(orig)) {
    for (const k of schedulerConfigKeys(schedulerClassName(orig))) silent.add(k);
  } else if (orig !== undefined && typeof orig !== "string") {
    invalid("_class_name", orig, "a scheduler class name string");
  }
  const init: Record<string, unknown> = {};
  const unexpected: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k.startsWith("_") || usedDefaults.includes(k) || v === undefined) continue;
    if (expected.has(k)) init[k] = v;
    else if (!silent.has(k)) unexpected[k] = v;
  }
  return { init, unexpected };
}

/** The warning for unexpected fields, as diffusers words it, with "did you mean" hints. */
export function unexpectedFieldsMessage(className: string, unexpected: Record<string, unknown>): string {
  const known = [...schedulerConfigKeys(className)];
  const hints = Object.keys(unexpected)
    .map((k) => didYouMean(k, known).replace(/^; /, `${k}: `))
    .filter((h) => h !== "");
  return (
    `The config attributes ${JSON.stringify(unexpected)} were passed to ${className}, but are not ` +
    `expected and will be ignored.${hints.length ? ` (${hints.join("; ")})` : ""}`
  );
}

/**
 * A scheduler of class `name` (class name or alias, see SCHEDULER_NAMES) from `config`, keeping the
 * fields the class knows (diffusers' `from_config`); see the module comment for what is dropped.
 */
export function schedulerFromConfig(
  name: string,
  config: Record<string, unknown> = {},
  options: FromConfigOptions = {},
): Scheduler {
  const className = schedulerClassName(name);
  const { init, unexpected } = extractInitConfig(className, config);
  const over = extractInitConfig(className, options.overrides ?? {});
  Object.assign(unexpected, over.unexpected);
  if (Object.keys(unexpected).length > 0) warn(unexpectedFieldsMessage(className, unexpected), options.warn);
  return createScheduler(className, { ...init, ...over.init });
}
