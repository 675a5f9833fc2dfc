/**
 * Every sampler on a problem with a known answer: data N(mu, s^2) in one dimension, whose ideal noise
 * prediction is closed-form (eps(x_t) = sigma_t (x_t - alpha_t mu) / (alpha_t^2 s^2 + sigma_t^2)), so
 * what remains in the samples' mean and std is the sampler's own error. A hand-written loop over
 * diffusers-style schedulers (setTimesteps / scaleModelInput / step).
 *
 *   npx tsx examples/compare-samplers.ts [steps=20] [samples=20000]
 *
 * Deterministic solvers converge to the target as the steps grow; a row that does not (more steps, same
 * error) points at a bug in that sampler rather than at its order.
 */
import { createSchedulerByName, diffusion, resolveSampler, SAMPLER_NAMES, T } from "diffuse";

const steps = Number(process.argv[2] ?? 20);
const n = Number(process.argv[3] ?? 20_000);
const [mu, s] = [3, 0.5];
// The model's whole noise schedule, as a saved scheduler_config.json carries it. beta_start and
// beta_end must be given: the classes' defaults differ (diffusers' HeunDiscreteScheduler defaults to
// 0.00085..0.012, the others to 0.0001..0.02), and a scheduler on another schedule than the model's
// feeds it timesteps whose noise level the model does not expect.
const config = {
  num_train_timesteps: 1000,
  beta_schedule: "linear",
  beta_start: 0.0001,
  beta_end: 0.02,
  clip_sample: false,
};
const abar = diffusion.alphasCumprod(diffusion.betasFor(config));

/** abar at a possibly fractional timestep (Euler-type samplers), linearly interpolated. */
function abarAt(t: number): number {
  const i = Math.min(Math.floor(t), abar.length - 2);
  return abar[i]! + (t - i) * (abar[i + 1]! - abar[i]!);
}

const idealEps = (x: T.Tensor, t: number) => {
  const a = abarAt(t);
  const [alpha, sigma] = [Math.sqrt(a), Math.sqrt(1 - a)];
  return T.mul(T.sub(x, alpha * mu), sigma / (alpha * alpha * s * s + sigma * sigma));
};

// The diffusers schedulers of a VP model (the continuous-time samplers need generate(); flow matching
// and consistency models take other networks than this noise prediction).
const names = SAMPLER_NAMES.filter(
  (n) => !["flow_match_euler", "consistency"].includes(n) && resolveSampler(n, config).kind === "scheduler",
);
const rows: { sampler: string; nfe: number; mean: string; std: string }[] = [];
for (const name of names) {
  const scheduler = createSchedulerByName(name, config);
  let nfe = 0;
  const x = await diffusion.sample(
    scheduler,
    (x, t) => {
      nfe++;
      return idealEps(x, t);
    },
    { numInferenceSteps: steps, shape: [n, 1], seed: 0 },
  );
  const mean = T.mean(x).item();
  const std = Math.sqrt(T.mean(T.square(T.sub(x, mean))).item());
  rows.push({ sampler: name, nfe, mean: mean.toFixed(3), std: std.toFixed(3) });
}
console.log(`target: mean ${mu}, std ${s}; ${steps} steps, ${n} samples`);
console.table(rows);
console.log(JSON.stringify(rows));
