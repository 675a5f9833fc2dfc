/**
 * Schedulers by name: diffusers' class names (as in scheduler_config.json's `_class_name`) and short
 * aliases, `createScheduler(name, config)` and `schedulerFromJSON(json)` (the inverse of `toJSON`).
 */
import { didYouMean } from "../util/names.js";
import { invalid } from "./check.js";
import type { Scheduler, SchedulerJson } from "./scheduler.js";
import { CMStochasticIterativeScheduler } from "./schedulers/consistency.js";
import { DDIMInverseScheduler, DDIMScheduler } from "./schedulers/ddim.js";
import { DDPMScheduler } from "./schedulers/ddpm.js";
import { DPMSolverMultistepScheduler } from "./schedulers/dpm-solver-multistep.js";
import { DPMSolverSinglestepScheduler } from "./schedulers/dpm-solver-singlestep.js";
import { EulerAncestralDiscreteScheduler, EulerDiscreteScheduler } from "./schedulers/euler.js";
import { FlowMatchEulerDiscreteScheduler } from "./schedulers/flow-match-euler.js";
import { HeunDiscreteScheduler } from "./schedulers/heun.js";
import { LMSDiscreteScheduler } from "./schedulers/lms.js";
import { PNDMScheduler } from "./schedulers/pndm.js";
import { UniPCMultistepScheduler } from "./schedulers/unipc.js";

type Factory = (config: Record<string, unknown>) => Scheduler;

const FACTORIES: Record<string, Factory> = {
  DDPMScheduler: (c) => new DDPMScheduler(c),
  DDIMScheduler: (c) => new DDIMScheduler(c),
  DDIMInverseScheduler: (c) => new DDIMInverseScheduler(c),
  PNDMScheduler: (c) => new PNDMScheduler(c),
  LMSDiscreteScheduler: (c) => new LMSDiscreteScheduler(c),
  EulerDiscreteScheduler: (c) => new EulerDiscreteScheduler(c),
  EulerAncestralDiscreteScheduler: (c) => new EulerAncestralDiscreteScheduler(c),
  HeunDiscreteScheduler: (c) => new HeunDiscreteScheduler(c),
  DPMSolverMultistepScheduler: (c) => new DPMSolverMultistepScheduler(c),
  DPMSolverSinglestepScheduler: (c) => new DPMSolverSinglestepScheduler(c),
  UniPCMultistepScheduler: (c) => new UniPCMultistepScheduler(c),
  FlowMatchEulerDiscreteScheduler: (c) => new FlowMatchEulerDiscreteScheduler(c),
  CMStochasticIterativeScheduler: (c) => new CMStochasticIterativeScheduler(c),
};

/** Short names for the command line and configs. */
const ALIASES: Record<string, string> = {
  ddpm: "DDPMScheduler",
  ddim: "DDIMScheduler",
  ddim_inverse: "DDIMInverseScheduler",
  pndm: "PNDMScheduler",
  lms: "LMSDiscreteScheduler",
  euler: "EulerDiscreteScheduler",
  euler_ancestral: "EulerAncestralDiscreteScheduler",
  heun: "HeunDiscreteScheduler",
  dpm_multistep: "DPMSolverMultistepScheduler",
  // The CLI's name (its default algorithm_type is dpmsolver++); "dpmsolver" (noise prediction) is a
  // sampler of pipelines/samplers.ts, which sets algorithm_type as well.
  "dpmsolver++": "DPMSolverMultistepScheduler",
  dpm_singlestep: "DPMSolverSinglestepScheduler",
  unipc: "UniPCMultistepScheduler",
  flow_match_euler: "FlowMatchEulerDiscreteScheduler",
  consistency: "CMStochasticIterativeScheduler",
};

/** Every accepted scheduler name (class names, then aliases). */
export const SCHEDULER_NAMES: readonly string[] = [...Object.keys(FACTORIES), ...Object.keys(ALIASES)];

/** Whether `name` is a known scheduler class name or alias. */
export function isSchedulerName(name: string): boolean {
  return name in FACTORIES || name in ALIASES;
}

/** The diffusers class name for a class name or alias; unknown names throw listing the valid ones. */
export function schedulerClassName(name: string): string {
  const className = Object.hasOwn(ALIASES, name) ? ALIASES[name]! : name;
  if (!Object.hasOwn(FACTORIES, className)) {
    invalid("scheduler", name, `one of ${SCHEDULER_NAMES.join(", ")}${didYouMean(name, SCHEDULER_NAMES)}`);
  }
  return className;
}

/**
 * A scheduler by class name or alias with a diffusers-style config (missing fields take defaults;
 * unknown ones warn and are ignored). For another class's config use `schedulerFromConfig`, which
 * drops the fields of compatible classes silently, as diffusers' `from_config` does.
 */
export function createScheduler(name: string, config: Record<string, unknown> = {}): Scheduler {
  return FACTORIES[schedulerClassName(name)]!(config);
}

/** A scheduler from scheduler_config.json (diffusers' or ours): `_class_name` picks the class. */
export function schedulerFromJSON(json: Record<string, unknown> | SchedulerJson): Scheduler {
  if (typeof json !== "object" || json === null) invalid("scheduler_config", json, "an object");
  const name = json._class_name;
  if (typeof name !== "string") invalid("_class_name", name, "a scheduler class name string");
  const config = Object.fromEntries(Object.entries(json).filter(([k]) => !k.startsWith("_")));
  return createScheduler(name, config);
}
