/**
 * Sampler names of the command line -> diffusers schedulers (src/diffusion/registry.ts), built on a
 * model's noise schedule: the schedule fields and the prediction type of its scheduler_config.json
 * carry over; the class's other fields take diffusers' defaults. Browser-safe.
 */
import { createScheduler } from "../diffusion/registry.js";
import type { Scheduler } from "../diffusion/scheduler.js";

/** name -> [registry name, extra config]. */
const SAMPLERS: Record<string, readonly [string, Record<string, unknown>]> = {
  "dpmsolver++": ["DPMSolverMultistepScheduler", { algorithm_type: "dpmsolver++" }],
  dpmsolver: ["DPMSolverMultistepScheduler", { algorithm_type: "dpmsolver", final_sigmas_type: "sigma_min" }],
  ddim: ["DDIMScheduler", {}],
  ddpm: ["DDPMScheduler", {}],
  unipc: ["UniPCMultistepScheduler", {}],
  euler: ["EulerDiscreteScheduler", {}],
  euler_ancestral: ["EulerAncestralDiscreteScheduler", {}],
  heun: ["HeunDiscreteScheduler", {}],
  lms: ["LMSDiscreteScheduler", {}],
  pndm: ["PNDMScheduler", { skip_prk_steps: true }],
};

export const SAMPLER_NAMES: readonly string[] = Object.keys(SAMPLERS);

/** The fields of a scheduler config that define the trained model's process, shared by every sampler. */
const SHARED_FIELDS = [
  "num_train_timesteps",
  "beta_start",
  "beta_end",
  "beta_schedule",
  "trained_betas",
  "prediction_type",
  "rescale_betas_zero_snr",
  "clip_sample",
  "clip_sample_range",
  "timestep_spacing",
  "steps_offset",
];

/** A scheduler called `name` (see SAMPLER_NAMES) on the noise schedule of `config`. */
export function createSchedulerByName(name: string, config: Record<string, unknown>): Scheduler {
  const entry = SAMPLERS[name];
  if (!entry) {
    throw new Error(
      `sampler: unknown name ${JSON.stringify(name)}; expected one of ${SAMPLER_NAMES.join(", ")}`,
    );
  }
  const shared = Object.fromEntries(
    SHARED_FIELDS.filter((k) => config[k] !== undefined).map((k) => [k, config[k]]),
  );
  // The model's spacing carries over (as diffusers' from_config does); without one, "leading". Not
  // "trailing": its first step is t = T-1, where an epsilon model's x0 = (x - sigma eps) / alpha
  // divides by alpha ~ 5e-5 on the cosine schedule and the samples come out speckled.
  return createScheduler(entry[0], { timestep_spacing: "leading", ...shared, ...entry[1] });
}
