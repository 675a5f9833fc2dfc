/**
 * The flow-matching samplers by name beyond diffusers' FlowMatchEulerDiscreteScheduler
 * (`flow_match_euler`): `flow_euler` and `flow_heun`, Euler and Heun on dx/dt = v(x, t) over `steps`
 * uniform intervals from t = 1 to 0 (Heun: 2 evaluations per step, the last Euler:
 * diffusion/samplers/flow.ts), and `flow_ode`, the
 * adaptive Dormand-Prince RK5(4) solver of diffusion/samplers/ode.ts from t = 1 to 0 (it picks its
 * own steps; rtol/atol as pf_ode's). The network sees the timestep T t (T = num_train_timesteps), as
 * the flow trainer feeds it. Browser-safe.
 */
import { gaussianNoise } from "../diffusion/noise.js";
import type { ModelFn } from "../diffusion/sample.js";
import {
  flowModelVelocity,
  flowTimeGrid,
  sampleFlowEuler,
  sampleFlowHeun,
} from "../diffusion/samplers/flow.js";
import { rk45 } from "../diffusion/samplers/ode.js";
import type { Key } from "../random/index.js";
import type * as T from "../tensor/index.js";
import type { ResolvedSampler } from "./samplers.js";

type FlowSampler = Extract<ResolvedSampler, { kind: "flow_euler" | "flow_heun" | "flow_ode" }>;

/** Whether `r` is one of the flow samplers of this file. */
export function isFlowSampler(r: Exclude<ResolvedSampler, { kind: "scheduler" }>): r is FlowSampler {
  return r.kind === "flow_euler" || r.kind === "flow_heun" || r.kind === "flow_ode";
}

/** Runs the flow sampler `r` from x_T ~ N(0, I) (or o.xT). */
export async function runFlowSampler(
  r: FlowSampler,
  model: ModelFn,
  o: {
    steps: number;
    seed: number | Key;
    xT?: T.Tensor;
    schedulerConfig?: Record<string, unknown>;
    onStep?: (i: number, total: number) => void;
  },
  shape: number[],
): Promise<T.Tensor> {
  const velocity = flowModelVelocity(model, Number(o.schedulerConfig?.num_train_timesteps ?? 1000));
  const xT = o.xT ?? gaussianNoise(o.seed)(shape);
  if (r.kind === "flow_euler" || r.kind === "flow_heun") {
    const solve = r.kind === "flow_euler" ? sampleFlowEuler : sampleFlowHeun;
    const x = await solve(velocity, xT, flowTimeGrid(o.steps));
    o.onStep?.(o.steps, o.steps);
    return x;
  }
  const res = await rk45(async (t, y) => velocity(y, t), xT, 1, 0, {
    rtol: r.spec.rtol ?? 1e-5,
    atol: r.spec.atol ?? 1e-5,
  });
  o.onStep?.(1, 1);
  return res.y;
}
