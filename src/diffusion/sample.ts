/**
 * The sampling loop over a diffusers-compatible scheduler (what a diffusers pipeline does):
 *   x = x_T * init_noise_sigma;  for t in timesteps: x = step(model(scale_model_input(x, t), t), t, x).
 * Constraints enter through `x0Transform` (on x0-hat, before the step) and `hook` (on the new sample,
 * after it); see constraints/hook.ts.
 */
import * as T from "../tensor/index.js";
import { invalid } from "./check.js";
import { type HookInfo, type StepHook, transformOutputX0, type X0Transform } from "./constraints/hook.js";
import { levelAfterStep, levelBeforeStep, outputKindOf } from "./constraints/levels.js";
import { gaussianNoise, type NoiseSource } from "./noise.js";
import type { Scheduler, StepOptions } from "./scheduler.js";

/** The network as the loop sees it: model output for the scaled input at timestep t. */
export type ModelFn = (x: T.Tensor, t: number) => T.Tensor | Promise<T.Tensor>;

/** What the progress callback gets after each step. */
export interface StepInfo {
  /** 0-based step index. */
  index: number;
  /** Number of steps of the loop. */
  total: number;
  timestep: number;
  /** The sample after this step. */
  sample: T.Tensor;
  predOriginalSample?: T.Tensor;
}

export interface SampleOptions {
  /** Calls `setTimesteps(n)` first; omit to use the timesteps the scheduler already has. */
  numInferenceSteps?: number;
  /** The standard-normal start (scaled by `initNoiseSigma` here); drawn from `noise` when omitted. */
  xT?: T.Tensor;
  /**
   * img2img: a sample already at `timesteps[startIndex]` (e.g. `addNoise(x0, z, t)`), used as is (not
   * scaled by `initNoiseSigma`); the loop starts at that index (diffusers' `set_begin_index`).
   */
  initSample?: { x: T.Tensor; startIndex: number };
  /** Shape of the drawn start when `xT` is omitted. */
  shape?: readonly number[];
  /** Source of all draws (start and stochastic steps); default `gaussianNoise(seed)`. */
  noise?: NoiseSource;
  /** Seed of the default noise source (default 0). */
  seed?: number;
  /** Extra per-step options (eta, churn, ...). */
  stepOptions?: Omit<StepOptions, "noise">;
  onStep?: (info: StepInfo) => void;
  /** Replaces the sample after each step (constraints/hook.ts); runs before `onStep`. */
  hook?: StepHook;
  /** Transforms x0-hat between the network and the step (constraints/hook.ts). */
  x0Transform?: X0Transform;
}

/**
 * Throws unless the model output `out` has the sample's shape (or twice its channels, axis 1: a
 * learned variance), naming both shapes: a network whose output size differs from its input (e.g.
 * out_channels != in_channels) otherwise fails deep inside a scheduler's arithmetic, or broadcasts.
 */
export function checkModelOutput(out: T.Tensor, x: T.Tensor, t: number): void {
  const same = out.rank === x.rank && out.shape.every((d, i) => d === x.shape[i]);
  const learned =
    out.rank === x.rank && x.rank >= 2 && out.shape.every((d, i) => d === (i === 1 ? 2 : 1) * x.shape[i]!);
  if (!same && !learned) {
    throw new Error(
      `model output shape [${out.shape.join(", ")}] does not match the sample's shape ` +
        `[${x.shape.join(", ")}] at timestep ${t}: the network must return one value per input value ` +
        `(out_channels = in_channels, or twice that for a learned variance)`,
    );
  }
}

/** Run the full loop and return the final sample. */
export async function sample(
  scheduler: Scheduler,
  denoiser: ModelFn,
  options: SampleOptions = {},
): Promise<T.Tensor> {
  if (options.numInferenceSteps !== undefined) scheduler.setTimesteps(options.numInferenceSteps);
  if (scheduler.numInferenceSteps === null) {
    invalid("numInferenceSteps", undefined, "given, or setTimesteps called on the scheduler before sample()");
  }
  const noise = options.noise ?? gaussianNoise(options.seed ?? 0);
  const begin = options.initSample?.startIndex ?? 0;
  let x: T.Tensor;
  if (options.initSample) {
    x = options.initSample.x;
    (scheduler as { setBeginIndex?: (i: number) => void }).setBeginIndex?.(begin);
  } else {
    let start = options.xT;
    if (!start) {
      if (!options.shape) invalid("shape", undefined, "an array of dimensions when xT is not given");
      start = noise(options.shape);
    }
    x = T.mul(start, scheduler.initNoiseSigma);
  }
  const timesteps = Array.from(scheduler.timesteps);
  for (let index = begin; index < timesteps.length; index++) {
    const t = timesteps[index];
    const last = index === timesteps.length - 1;
    const total = timesteps.length;
    const xin = scheduler.scaleModelInput(x, t);
    let out = await denoiser(xin, t);
    checkModelOutput(out, x, t);
    const transform = options.x0Transform;
    if (transform) {
      const info: HookInfo = {
        index,
        total,
        timestep: t,
        level: levelBeforeStep(scheduler, index, t),
        last,
        noise,
      };
      out = await transformOutputX0(outputKindOf(scheduler), out, xin, info.level, (x0) =>
        transform(x0, info),
      );
    }
    const result = scheduler.step(out, t, x, { ...options.stepOptions, noise });
    x = result.prevSample;
    if (options.hook) {
      const info: HookInfo = {
        index,
        total,
        timestep: t,
        level: levelAfterStep(scheduler, index, t),
        last,
        noise,
      };
      if (result.predOriginalSample) info.predX0 = result.predOriginalSample;
      x = (await options.hook(x, info)) ?? x;
    }
    options.onStep?.({
      index,
      total: timesteps.length,
      timestep: t,
      sample: x,
      predOriginalSample: result.predOriginalSample,
    });
  }
  return x;
}
