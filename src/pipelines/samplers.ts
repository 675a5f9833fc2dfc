/**
 * Samplers by name, for the command line and the library alike. A name resolves to one of
 *   - a diffusers scheduler (DDPM, DDIM, DPM-Solver(++), UniPC, Euler, ..., flow-matching Euler,
 *     consistency), built on the model's scheduler config by `schedulerFromConfig` (diffusers'
 *     `from_config`: the schedule fields and the prediction type carry over, the class's other
 *     fields take its defaults), then run by the diffusers loop (diffusion/sample.ts);
 *   - a continuous-time sampler of the VP SDE of the model's discrete schedule (Song et al. 2021):
 *     `reverse_sde` (Euler-Maruyama on eq. 6), `pc` (predictor-corrector, Algorithm 4, Langevin
 *     corrector), `pf_ode` (the probability-flow ODE, eq. 13, adaptive RK45: its number of model
 *     evaluations is reported, not chosen).
 * Every name accepts its spellings elsewhere: the short CLI names (`dpmsolver++`), the registry's
 * aliases (`dpm_multistep`) and diffusers' class names (`DPMSolverMultistepScheduler`). Browser-safe.
 */
import { KARRAS_COMPATIBLE, schedulerFromConfig } from "../diffusion/from-config.js";
import { isSchedulerName, schedulerClassName } from "../diffusion/registry.js";
import type { Scheduler } from "../diffusion/scheduler.js";
import { TIMESTEP_SPACINGS } from "../diffusion/timesteps.js";
import { InputError } from "../io/input-error.js";
import { didYouMean } from "../util/names.js";
import type { WarnFn } from "../util/warn.js";

type Entry =
  | { kind: "scheduler"; className: string; extra: Record<string, unknown>; help: string }
  | { kind: "reverse_sde" | "pc" | "pf_ode" | FlowKind; help: string };

/** Samplers of a flow-matching model as plain ODE solvers (diffusion/samplers/flow.ts, ode.ts). */
export type FlowKind = "flow_euler" | "flow_heun" | "flow_ode";

const sched = (className: string, help: string, extra: Record<string, unknown> = {}): Entry => ({
  kind: "scheduler",
  className,
  extra,
  help,
});

/** Canonical name -> sampler. The first entry of a scheduler class is what its class name means. */
const SAMPLERS: Record<string, Entry> = {
  "dpmsolver++": sched("DPMSolverMultistepScheduler", "DPM-Solver++ (2M), data prediction", {
    algorithm_type: "dpmsolver++",
  }),
  dpmsolver: sched("DPMSolverMultistepScheduler", "DPM-Solver (2M), noise prediction", {
    algorithm_type: "dpmsolver",
    final_sigmas_type: "sigma_min",
  }),
  dpm_singlestep: sched("DPMSolverSinglestepScheduler", "DPM-Solver++ singlestep"),
  ddim: sched("DDIMScheduler", "DDIM (--eta: 0 deterministic, 1 DDPM-like)"),
  ddpm: sched("DDPMScheduler", "DDPM ancestral (--variance-type)"),
  unipc: sched("UniPCMultistepScheduler", "UniPC"),
  euler: sched("EulerDiscreteScheduler", "Euler (Karras et al. 2022)"),
  euler_ancestral: sched("EulerAncestralDiscreteScheduler", "Euler ancestral"),
  heun: sched("HeunDiscreteScheduler", "Heun (2 evaluations per step)"),
  lms: sched("LMSDiscreteScheduler", "linear multistep"),
  pndm: sched("PNDMScheduler", "PLMS", { skip_prk_steps: true }),
  flow_match_euler: sched("FlowMatchEulerDiscreteScheduler", "Euler on a flow-matching model"),
  consistency: sched("CMStochasticIterativeScheduler", "consistency model, multistep"),
  reverse_sde: { kind: "reverse_sde", help: "reverse VP SDE, Euler-Maruyama" },
  pc: { kind: "pc", help: "predictor-corrector: reverse SDE + Langevin corrector (--snr)" },
  pf_ode: { kind: "pf_ode", help: "probability-flow ODE, adaptive RK45 (reports its NFE)" },
  flow_euler: {
    kind: "flow_euler",
    help: "Euler on a flow-matching model over uniform steps from t = 1 to 0 (flow_match_euler's 2 steps are ~1)",
  },
  flow_heun: { kind: "flow_heun", help: "Heun on a flow-matching model (2 evaluations per step)" },
  flow_ode: { kind: "flow_ode", help: "adaptive RK45 on a flow-matching model (reports its NFE)" },
};

/** Other spellings of the continuous-time samplers. */
const EXTRA_ALIASES: Record<string, string> = {
  sde: "reverse_sde",
  predictor_corrector: "pc",
  ode: "pf_ode",
  probability_flow: "pf_ode",
};

/** Every canonical sampler name (what `diffuse sample --sampler` lists). */
export const SAMPLER_NAMES: readonly string[] = Object.keys(SAMPLERS);

/** The samplers that are diffusers schedulers (usable wherever a `Scheduler` object is needed). */
export const SCHEDULER_SAMPLER_NAMES: readonly string[] = SAMPLER_NAMES.filter(
  (n) => SAMPLERS[n]!.kind === "scheduler",
);

/** One line per sampler: "name  description". */
export function samplerHelp(): string {
  return SAMPLER_NAMES.map((n) => `${n.padEnd(17)}${SAMPLERS[n]!.help}`).join("\n");
}

/** The canonical name of `name` (a CLI name, a registry alias or a diffusers class name). */
export function canonicalSamplerName(name: string): string {
  if (Object.hasOwn(SAMPLERS, name)) return name;
  const lower = name.toLowerCase().replaceAll("-", "_");
  if (Object.hasOwn(SAMPLERS, lower)) return lower;
  if (Object.hasOwn(EXTRA_ALIASES, lower)) return EXTRA_ALIASES[lower]!;
  if (isSchedulerName(name)) {
    const cls = schedulerClassName(name);
    const hit = SAMPLER_NAMES.find((n) => {
      const e = SAMPLERS[n]!;
      return e.kind === "scheduler" && e.className === cls;
    });
    if (hit) return hit;
  }
  const all = [...SAMPLER_NAMES, ...Object.keys(EXTRA_ALIASES)];
  throw new Error(
    `sampler: unknown name ${JSON.stringify(name)}; expected one of ${SAMPLER_NAMES.join(", ")} ` +
      `(or a diffusers scheduler class name)${didYouMean(name, all)}`,
  );
}

/** A sampler and its settings (each setting only where the sampler has it). */
export interface SamplerSpec {
  name: string;
  /** DDIM's eta (DDIM eq. 16). */
  eta?: number;
  /** DDPM's variance_type (fixed_small, fixed_large, learned_range, ...). */
  varianceType?: string;
  /** Scheduler samplers: diffusers' timestep_spacing (linspace, leading, trailing). */
  timestepSpacing?: string;
  /** pc: the Langevin corrector's signal-to-noise ratio (default 0.16). */
  snr?: number;
  /** pc: corrector steps per noise level (default 1). */
  correctorSteps?: number;
  /** pf_ode: tolerances of RK45 (default 1e-5 both). */
  rtol?: number;
  atol?: number;
}

/** A resolved sampler: a scheduler to loop over, or a continuous-time method. */
export type ResolvedSampler =
  | { name: string; kind: "scheduler"; scheduler: Scheduler; stepOptions: { eta?: number } }
  | { name: string; kind: "reverse_sde" | "pc" | "pf_ode"; spec: SamplerSpec }
  | { name: string; kind: FlowKind; spec: SamplerSpec };

function only(spec: SamplerSpec, name: string, field: keyof SamplerSpec, samplers: string[]): void {
  if (spec[field] !== undefined && !samplers.includes(name)) {
    throw new Error(
      `sampler ${name}: setting ${field} applies only to ${samplers.join(", ")}; drop it or choose that sampler`,
    );
  }
}

/**
 * Checks that every setting of `spec` belongs to its sampler and is in range (no model needed);
 * returns the canonical sampler name.
 */
export function checkSamplerSpec(s: SamplerSpec): string {
  const name = canonicalSamplerName(s.name);
  only(s, name, "eta", ["ddim"]);
  only(s, name, "varianceType", ["ddpm"]);
  only(s, name, "snr", ["pc"]);
  only(s, name, "correctorSteps", ["pc"]);
  only(s, name, "rtol", ["pf_ode", "flow_ode"]);
  only(s, name, "atol", ["pf_ode", "flow_ode"]);
  only(s, name, "timestepSpacing", SCHEDULER_SAMPLER_NAMES as string[]);
  if (s.eta !== undefined && !(s.eta >= 0 && Number.isFinite(s.eta))) {
    throw new Error(`sampler ddim: eta ${s.eta} is not a number >= 0 (0 deterministic, 1 DDPM-like)`);
  }
  if (
    s.timestepSpacing !== undefined &&
    !(TIMESTEP_SPACINGS as readonly string[]).includes(s.timestepSpacing)
  ) {
    throw new Error(
      `sampler ${name}: timestep spacing ${JSON.stringify(s.timestepSpacing)} is not one of ${TIMESTEP_SPACINGS.join(", ")}`,
    );
  }
  for (const k of ["snr", "rtol", "atol"] as const) {
    const v = s[k];
    if (v !== undefined && !(v > 0 && Number.isFinite(v)))
      throw new Error(`sampler ${name}: ${k} ${v} is not a number > 0`);
  }
  if (s.correctorSteps !== undefined && !(Number.isInteger(s.correctorSteps) && s.correctorSteps >= 0)) {
    throw new Error(`sampler ${name}: correctorSteps ${s.correctorSteps} is not an integer >= 0`);
  }
  return name;
}

/**
 * Resolves `spec` (or a bare name) against the model's scheduler config (its noise schedule and
 * prediction type). Settings the sampler does not have are errors; see SamplerSpec.
 */
export function resolveSampler(
  spec: string | SamplerSpec,
  schedulerConfig: Record<string, unknown>,
  options: { warn?: WarnFn } = {},
): ResolvedSampler {
  const s: SamplerSpec = typeof spec === "string" ? { name: spec } : spec;
  const name = checkSamplerSpec(s);
  const entry = SAMPLERS[name]!;
  checkModelFamily(name, classOf(entry), schedulerConfig);
  if (entry.kind !== "scheduler") return { name, kind: entry.kind, spec: s };
  const overrides: Record<string, unknown> = { ...entry.extra };
  if (s.varianceType !== undefined) overrides.variance_type = s.varianceType;
  if (s.timestepSpacing !== undefined) overrides.timestep_spacing = s.timestepSpacing;
  // The model's spacing carries over (as diffusers' from_config does); without one, "leading". Not
  // "trailing" or "linspace": their first step is t = T-1, where an epsilon model's
  // x0 = (x - sigma eps) / alpha divides by alpha ~ 5e-5 on the cosine schedule (see safety.ts).
  // Flow matching and consistency schedulers have neither a spacing nor clip_sample (which
  // withClipDefault adds for images): passing them would only warn that they are ignored.
  const { clip_sample: _clip, ...unclipped } = schedulerConfig;
  const scheduler = schedulerFromConfig(
    entry.className,
    family(entry.className) === "diffusion" ? { timestep_spacing: "leading", ...schedulerConfig } : unclipped,
    { overrides, ...(options.warn ? { warn: options.warn } : {}) },
  );
  return { name, kind: "scheduler", scheduler, stepOptions: s.eta !== undefined ? { eta: s.eta } : {} };
}

/** The family of models a sampler (any spelling) is for: VP diffusion, flow matching or consistency. */
export function samplerFamily(name: string): "diffusion" | "flow matching" | "consistency" {
  return family(classOf(SAMPLERS[canonicalSamplerName(name)]!) ?? "DDPMScheduler") ?? "diffusion";
}

/** The scheduler class whose family a sampler belongs to (null: the VP SDE samplers, diffusion's). */
function classOf(e: Entry): string | null {
  if (e.kind === "scheduler") return e.className;
  return e.kind === "flow_euler" || e.kind === "flow_heun" || e.kind === "flow_ode"
    ? "FlowMatchEulerDiscreteScheduler"
    : null;
}

/** What a scheduler class samples: VP diffusion (noise/v/x0 prediction), flow matching, consistency. */
export function schedulerFamily(className: string): "diffusion" | "flow matching" | "consistency" | null {
  return family(className);
}

function family(className: string): "diffusion" | "flow matching" | "consistency" | null {
  if (KARRAS_COMPATIBLE.includes(className) || className === "DDIMInverseScheduler") return "diffusion";
  if (className === "FlowMatchEulerDiscreteScheduler") return "flow matching";
  if (className === "CMStochasticIterativeScheduler") return "consistency";
  return null;
}

/**
 * A sampler of one family on a model of another (flow-matching Euler on a noise-prediction model, DDIM
 * on a flow model) runs and returns garbage: refuse it. The model's family is its scheduler config's
 * `_class_name` (the training schedule); continuous-time samplers (className null) are diffusion's.
 */
function checkModelFamily(name: string, className: string | null, config: Record<string, unknown>): void {
  const trained = config._class_name;
  if (typeof trained !== "string") return;
  const [want, have] = [family(className ?? "DDPMScheduler"), family(trained)];
  if (want === null || have === null || want === have) return;
  const fitting = SAMPLER_NAMES.filter((n) => family(classOf(SAMPLERS[n]!) ?? "DDPMScheduler") === have);
  throw new InputError(
    `sampler ${name}: samples ${want} models, but this model was trained as a ${have} model (its scheduler config is ${trained}); use ${fitting.join(", ")}`,
    { field: "sampler" },
  );
}

/** A scheduler called `name` (a scheduler sampler, see SCHEDULER_SAMPLER_NAMES) on `config`'s schedule. */
export function createSchedulerByName(
  name: string,
  config: Record<string, unknown>,
  options: { warn?: WarnFn } = {},
): Scheduler {
  const r = resolveSampler(name, config, options);
  if (r.kind !== "scheduler") {
    throw new Error(
      `sampler ${r.name}: is a continuous-time sampler, not a scheduler; use generate() with sampler "${r.name}"`,
    );
  }
  return r.scheduler;
}
