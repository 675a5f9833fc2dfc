/**
 * A scheduler that lets the page watch sampling: it wraps a diffusers-style scheduler, passes every
 * call through unchanged, and after each `step` reports x_t (the sample the step started from) and
 * the predicted clean sample x0. `generate()` takes it like any ready scheduler, so the page samples
 * through the same code path as the Node CLI (classifier-free guidance, compiled forward).
 *
 * x0 is the scheduler's `predOriginalSample` when it reports one; otherwise (DPM-Solver, UniPC) it
 * comes from the epsilon prediction on the variance-preserving schedule (DDPM eq. 15 rearranged):
 *   x0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t).
 */
import { diffusion, type T } from "diffuse/core";

type Scheduler = Parameters<typeof diffusion.sample>[0];
type StepOptions = Parameters<Scheduler["step"]>[3];

/** What the watcher reports after each step. */
export interface Watched {
  /** 0-based step index and the number of steps. */
  index: number;
  total: number;
  timestep: number;
  /** x_t before this step, [N, ...]. */
  xt: Float32Array;
  /** The predicted x0 at this step, or null when it cannot be told (non-epsilon, VE schedulers). */
  x0: Float32Array | null;
}

/** Wraps `inner`; `onStep` sees every step. The wrapper is a `Scheduler` itself. */
export function watchScheduler(
  inner: Scheduler,
  schedulerConfig: Record<string, unknown>,
  onStep: (w: Watched) => void,
): Scheduler {
  const abar = diffusion.alphasCumprod(diffusion.betasFor(schedulerConfig));
  const epsilon = (schedulerConfig.prediction_type ?? "epsilon") === "epsilon";
  let index = 0;
  const wrapper: Scheduler = {
    get className() {
      return inner.className;
    },
    get config() {
      return inner.config;
    },
    get timesteps() {
      return inner.timesteps;
    },
    get numInferenceSteps() {
      return inner.numInferenceSteps;
    },
    get initNoiseSigma() {
      return inner.initNoiseSigma;
    },
    get order() {
      return inner.order;
    },
    setTimesteps(n: number) {
      index = 0;
      inner.setTimesteps(n);
    },
    scaleModelInput: (sample: T.Tensor, t: number) => inner.scaleModelInput(sample, t),
    step(out: T.Tensor, t: number, sample: T.Tensor, options?: StepOptions) {
      const result = inner.step(out, t, sample, options);
      const xt = Float32Array.from(sample.values() as Float32Array);
      let x0: Float32Array | null = null;
      if (result.predOriginalSample)
        x0 = Float32Array.from(result.predOriginalSample.values() as Float32Array);
      else if (epsilon && inner.initNoiseSigma === 1) {
        const a = abar[Math.min(abar.length - 1, Math.max(0, Math.round(t)))]!;
        const eps = out.values() as Float32Array;
        x0 = xt.map((x, i) => (x - Math.sqrt(1 - a) * eps[i]!) / Math.sqrt(a));
      }
      onStep({ index, total: inner.timesteps.length, timestep: t, xt, x0 });
      index++;
      return result;
    },
    addNoise: (original: T.Tensor, noise: T.Tensor, timesteps: ArrayLike<number>) =>
      inner.addNoise(original, noise, timesteps),
    toJSON: () => inner.toJSON(),
  };
  return wrapper;
}
