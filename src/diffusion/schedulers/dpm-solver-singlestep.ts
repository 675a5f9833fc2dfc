/**
 * Singlestep DPM-Solver / DPM-Solver++ (Lu et al. 2022, DPM-Solver-1/2/3, Algorithms 1-2 with the
 * intermediate points on the timestep grid) as diffusers 0.30.3's `DPMSolverSinglestepScheduler`:
 * the inference timesteps are grouped by an order list ([1, 2, 3, 1, 2, 3, ...] for order 3, with
 * `lower_order_final` ending on lower orders); within a group every update starts from the sample
 * at the group's first timestep. Updates: dpm-solver-updates.ts.
 */
import type * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import {
  betaFields,
  bool,
  type ConfigSpec,
  int,
  nullable,
  numOrMinusInf,
  oneOf,
  parseConfig,
  predictionField,
  thresholdFields,
} from "../config.js";
import {
  DPM_SOLVER_TYPES,
  type DpmAlgorithm,
  type DpmSolverType,
  dpmFirstOrder,
  dpmSinglestepSecondOrder,
  dpmSinglestepThirdOrder,
  predictsData,
} from "../dpm-solver-updates.js";
import type { StepOptions, StepOutput } from "../scheduler.js";
import { VARIANCE_TYPES, type VarianceType } from "./ddpm.js";
import { type SolverConfig, SolverScheduler, solverTimesteps } from "./solver-base.js";

export interface DPMSolverSinglestepConfig extends SolverConfig {
  algorithm_type: "dpmsolver" | "dpmsolver++";
  solver_type: DpmSolverType;
  lower_order_final: boolean;
  lambda_min_clipped: number;
  /** Only "learned" and "learned_range" (extra variance channels, dropped) change anything; DDPM's
   *  fixed_* types are accepted (as diffusers does), so a DDPM config loads unchanged. */
  variance_type: VarianceType | null;
}

const SPEC: ConfigSpec<DPMSolverSinglestepConfig> = {
  ...betaFields(),
  solver_order: { default: 2, check: int(1, 3) },
  ...predictionField,
  ...thresholdFields,
  algorithm_type: { default: "dpmsolver++", check: oneOf(["dpmsolver", "dpmsolver++"] as const) },
  // diffusers maps UniPC's and DEIS's names to midpoint (register_to_config).
  solver_type: {
    default: "midpoint",
    check: (f, v) =>
      v === "logrho" || v === "bh1" || v === "bh2" ? "midpoint" : oneOf(DPM_SOLVER_TYPES)(f, v),
  },
  lower_order_final: { default: true, check: bool },
  use_karras_sigmas: { default: false, check: bool },
  final_sigmas_type: { default: "zero", check: oneOf(["zero", "sigma_min"] as const) },
  lambda_min_clipped: { default: -Infinity, check: numOrMinusInf },
  variance_type: { default: null, check: nullable(oneOf(VARIANCE_TYPES)) },
};

/** diffusers `get_order_list`: the solver order used at each of the n timesteps. */
export function singlestepOrderList(n: number, order: number, lowerOrderFinal: boolean): number[] {
  const repeat = (pattern: number[], times: number) =>
    Array.from({ length: Math.max(0, times) }, () => pattern).flat();
  const pattern = order === 3 ? [1, 2, 3] : order === 2 ? [1, 2] : [1];
  if (!lowerOrderFinal) return repeat(pattern, Math.floor(n / order));
  if (order === 3) {
    if (n % 3 === 0) return [...repeat(pattern, n / 3 - 1), 1, 2, 1];
    if (n % 3 === 1) return [...repeat(pattern, Math.floor(n / 3)), 1];
    return [...repeat(pattern, Math.floor(n / 3)), 1, 2];
  }
  if (order === 2)
    return n % 2 === 0 ? [...repeat(pattern, n / 2 - 1), 1, 1] : [...repeat(pattern, Math.floor(n / 2)), 1];
  return repeat(pattern, n);
}

export class DPMSolverSinglestepScheduler extends SolverScheduler<DPMSolverSinglestepConfig> {
  readonly className: string = "DPMSolverSinglestepScheduler";
  orderList: number[] = [];
  private outputs: (T.Tensor | null)[] = [];
  /** The sample at the start of the current group. */
  private groupSample: T.Tensor | null = null;
  private lowerOrderFinal: boolean;

  constructor(config: Partial<DPMSolverSinglestepConfig> = {}) {
    const parsed = parseConfig(SPEC, config as Record<string, unknown>);
    if (parsed.algorithm_type === "dpmsolver" && parsed.final_sigmas_type === "zero") {
      invalid(
        "final_sigmas_type",
        "zero",
        `"sigma_min" for algorithm_type dpmsolver (its update divides by sigma = 0)`,
      );
    }
    super(parsed);
    this.lowerOrderFinal = parsed.lower_order_final;
  }

  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const n = this.checkSteps(numInferenceSteps, c.num_train_timesteps);
    const last = this.lastUnclippedTimestep(c.lambda_min_clipped);
    this.setGrid(solverTimesteps("linspace", c.num_train_timesteps, last, n, 0), n);
    this.outputs = new Array(c.solver_order).fill(null);
    this.groupSample = null;
    // diffusers forces lower_order_final when n is not a multiple of the order or the final sigma is 0.
    this.lowerOrderFinal = c.lower_order_final || n % c.solver_order !== 0 || c.final_sigmas_type === "zero";
    this.orderList = singlestepOrderList(n, c.solver_order, this.lowerOrderFinal);
    // A higher-order last step to sigma = 0 divides by lambda_t - lambda_s = Infinity: end on order 1.
    if (c.final_sigmas_type === "zero") this.orderList[this.orderList.length - 1] = 1;
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, _options: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep, this.timesteps.length - 1);
    const algorithm: DpmAlgorithm = this.config.algorithm_type;
    const m = this.convertModelOutput(modelOutput, sample, i, predictsData(algorithm));
    this.outputs.shift();
    this.outputs.push(m);
    let order = this.orderList[i];
    while (this.outputs[this.outputs.length - order] === null) order--;
    if (order === 1) this.groupSample = sample;
    const x = this.groupSample as T.Tensor;
    const t = this.level(i + 1);
    const k = this.outputs.length;
    let prevSample: T.Tensor;
    if (order === 1) {
      prevSample = dpmFirstOrder(algorithm, x, m, this.level(i), t);
    } else if (order === 2) {
      const pair = [this.outputs[k - 1], this.outputs[k - 2]] as [T.Tensor, T.Tensor];
      prevSample = dpmSinglestepSecondOrder(
        algorithm,
        this.config.solver_type,
        x,
        pair,
        [this.level(i), this.level(i - 1)],
        t,
      );
    } else {
      const triple = [this.outputs[k - 1], this.outputs[k - 2], this.outputs[k - 3]] as [
        T.Tensor,
        T.Tensor,
        T.Tensor,
      ];
      const levels = [this.level(i), this.level(i - 1), this.level(i - 2)] as const;
      prevSample = dpmSinglestepThirdOrder(algorithm, this.config.solver_type, x, triple, levels, t);
    }
    this.stepIndexValue = i + 1;
    return { prevSample };
  }
}
