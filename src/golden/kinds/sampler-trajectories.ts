/**
 * Golden kind `sampler-trajectories`: a full diffusers sampling loop per case. The case gives the
 * scheduler's class name and resolved `config`, `num_inference_steps`, `step_kwargs`, `shape`, the
 * start `x_T`, and the reference's `timesteps`, `init_noise_sigma`, the standard-normal draws made in
 * each step (`noise_by_step`) and the sample after each step (`trajectory`). The model is the toy
 * `0.8 tanh(x_in) + 0.05 sin(0.01 t)` on the scheduler's scaled input. We run `sample()` with the
 * case's config, replay the draws step by step (a step must use exactly its recorded draws) and compare
 * timesteps, init_noise_sigma and every step of the trajectory.
 */
import { createScheduler, isSchedulerName, SCHEDULER_NAMES } from "../../diffusion/registry.js";
import { sample } from "../../diffusion/sample.js";
import type { Scheduler, StepOptions } from "../../diffusion/scheduler.js";
import {
  CMStochasticIterativeScheduler,
  cmIndicesFromTimesteps,
} from "../../diffusion/schedulers/consistency.js";
import * as T from "../../tensor/index.js";
import {
  compareArrays,
  describeMismatch,
  parseNumberArray,
  parseTolerance,
  type Tolerance,
} from "../compare.js";
import { type CaseHandler, type CaseResult, registerKind } from "../registry.js";

/** The reference's toy model, elementwise: 0.8 tanh(x) + 0.05 sin(0.01 t). */
export function toyModel(x: T.Tensor, t: number): T.Tensor {
  return T.add(T.mul(T.tanh(x), 0.8), 0.05 * Math.sin(0.01 * t));
}

/** diffusers `step` keyword arguments we understand, mapped to StepOptions. */
const STEP_KWARGS: Record<string, keyof StepOptions> = {
  eta: "eta",
  use_clipped_model_output: "useClippedModelOutput",
  s_churn: "sChurn",
  s_tmin: "sTmin",
  s_tmax: "sTmax",
  s_noise: "sNoise",
};

function stepOptionsOf(kwargs: unknown): Omit<StepOptions, "noise"> {
  if (kwargs === undefined || kwargs === null) return {};
  if (typeof kwargs !== "object" || Array.isArray(kwargs))
    throw new Error(`step_kwargs ${JSON.stringify(kwargs)} is not an object`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(kwargs)) {
    const name = STEP_KWARGS[key];
    if (!name) throw new Error(`step_kwargs.${key} is not one of ${Object.keys(STEP_KWARGS).join(", ")}`);
    out[name] = value;
  }
  return out;
}

function drawsOf(data: Record<string, unknown>): number[][][] {
  const value = data.noise_by_step;
  if (!Array.isArray(value)) throw new Error("noise_by_step is not an array (one list of draws per step)");
  return value.map((draws, i) => {
    if (!Array.isArray(draws)) throw new Error(`noise_by_step[${i}] is not an array of draws`);
    return draws.map((d, j) => parseNumberArray(d, `noise_by_step[${i}][${j}]`));
  });
}

/** Set the timesteps the case ran: n steps, or for consistency models the training indices behind its timesteps. */
function setTimesteps(scheduler: Scheduler, n: number, wantTimesteps: number[]): void {
  if (scheduler instanceof CMStochasticIterativeScheduler && wantTimesteps.length !== n) {
    // The reference ran explicit training indices (diffusers `set_timesteps(timesteps=...)`); the case
    // records only the model timesteps 250 log(sigma), from which the indices are recovered.
    scheduler.setTimesteps({ timesteps: cmIndicesFromTimesteps(scheduler.config, wantTimesteps) });
  } else {
    scheduler.setTimesteps(n);
  }
}

async function runCase(data: Record<string, unknown>, tol: Tolerance): Promise<CaseResult> {
  const name = data.scheduler;
  if (typeof name !== "string" || !isSchedulerName(name)) {
    return {
      ok: false,
      detail: `unknown scheduler ${JSON.stringify(name)}: not one of ${SCHEDULER_NAMES.join(", ")}`,
    };
  }
  const scheduler = createScheduler(name, (data.config ?? {}) as Record<string, unknown>);
  const shape = parseNumberArray(data.shape, "shape");
  const wantTimesteps = parseNumberArray(data.timesteps, "timesteps");
  const trajectory = data.trajectory;
  if (!Array.isArray(trajectory)) throw new Error("trajectory is not an array (one sample per step)");
  const draws = drawsOf(data);
  const n = data.num_inference_steps;
  if (typeof n !== "number") throw new Error(`num_inference_steps ${JSON.stringify(n)} is not a number`);
  setTimesteps(scheduler, n, wantTimesteps);

  const ts = compareArrays(scheduler.timesteps, wantTimesteps, tol);
  if (!ts.ok) return { ok: false, detail: describeMismatch("timesteps", ts, tol) };
  if (typeof data.init_noise_sigma === "number") {
    const s = compareArrays([scheduler.initNoiseSigma], [data.init_noise_sigma], tol);
    if (!s.ok) return { ok: false, detail: describeMismatch("init_noise_sigma", s, tol) };
  }
  let step = 0;
  let used = 0;
  const failures: string[] = [];
  const noise = (drawShape: readonly number[]) => {
    const mine = draws[step] ?? [];
    if (used >= mine.length)
      throw new Error(`step ${step} drew noise ${used + 1} times, the reference ${mine.length}`);
    return T.tensor(Float32Array.from(mine[used++]), [...drawShape]);
  };
  await sample(scheduler, toyModel, {
    xT: T.tensor(parseNumberArray(data.x_T, "x_T"), shape),
    noise,
    stepOptions: stepOptionsOf(data.step_kwargs),
    onStep: ({ index, sample: x }) => {
      if (used !== (draws[index]?.length ?? 0))
        failures.push(`step ${index} drew noise ${used} times, the reference ${draws[index]?.length ?? 0}`);
      const r = compareArrays(x.values(), parseNumberArray(trajectory[index], `trajectory[${index}]`), tol);
      if (!r.ok) failures.push(describeMismatch(`trajectory[${index}]`, r, tol));
      step++;
      used = 0;
    },
  });
  if (step !== trajectory.length) failures.push(`ran ${step} steps, the reference ${trajectory.length}`);
  return failures.length === 0
    ? { ok: true }
    : { ok: false, detail: failures[0] + (failures.length > 1 ? ` (+${failures.length - 1} more)` : "") };
}

export const checkSamplerTrajectory: CaseHandler = async (data) =>
  runCase(data, parseTolerance(data.tolerance));

registerKind("sampler-trajectories", checkSamplerTrajectory);
