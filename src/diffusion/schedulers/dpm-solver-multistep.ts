/**
 * Multistep DPM-Solver / DPM-Solver++ (Lu et al. 2022; "DPM-Solver++", Algorithm 2 for 2M) as
 * diffusers 0.30.3's `DPMSolverMultistepScheduler`: orders 1-3 with warm-up (order grows with the
 * number of stored outputs), `lower_order_final` (lower orders on the last steps when n < 15, and a
 * first-order last step when the final sigma is 0 or `euler_at_final`), midpoint / heun second-order
 * forms, the SDE variants (one draw per step) and Karras sigmas. Updates: dpm-solver-updates.ts.
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
  rescaleField,
  spacingFields,
  thresholdFields,
} from "../config.js";
import {
  DPM_ALGORITHMS,
  DPM_SOLVER_TYPES,
  type DpmAlgorithm,
  type DpmSolverType,
  dpmFirstOrder,
  dpmMultistepSecondOrder,
  dpmMultistepThirdOrder,
  predictsData,
} from "../dpm-solver-updates.js";
import type { StepOptions, StepOutput } from "../scheduler.js";
import type { TimestepSpacing } from "../timesteps.js";
import { VARIANCE_TYPES, type VarianceType } from "./ddpm.js";
import { type SolverConfig, SolverScheduler, solverTimesteps } from "./solver-base.js";

/** diffusers also accepts these solver_type names and maps them to "midpoint". */
const SOLVER_TYPE_ALIASES = ["logrho", "bh1", "bh2"] as const;

export interface DPMSolverMultistepConfig extends SolverConfig {
  algorithm_type: DpmAlgorithm | "deis";
  solver_type: DpmSolverType | (typeof SOLVER_TYPE_ALIASES)[number];
  lower_order_final: boolean;
  euler_at_final: boolean;
  use_lu_lambdas: boolean;
  lambda_min_clipped: number;
  /** Only "learned" and "learned_range" (extra variance channels, dropped) change anything; DDPM's
   *  fixed_* types are accepted (as diffusers does), so a DDPM config loads unchanged. */
  variance_type: VarianceType | null;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  rescale_betas_zero_snr: boolean;
}

const SPEC: ConfigSpec<DPMSolverMultistepConfig> = {
  ...betaFields(),
  solver_order: { default: 2, check: int(1, 3) },
  ...predictionField,
  ...thresholdFields,
  algorithm_type: { default: "dpmsolver++", check: oneOf([...DPM_ALGORITHMS, "deis"] as const) },
  solver_type: { default: "midpoint", check: oneOf([...DPM_SOLVER_TYPES, ...SOLVER_TYPE_ALIASES] as const) },
  lower_order_final: { default: true, check: bool },
  euler_at_final: { default: false, check: bool },
  use_karras_sigmas: { default: false, check: bool },
  use_lu_lambdas: { default: false, check: bool },
  final_sigmas_type: { default: "zero", check: oneOf(["zero", "sigma_min"] as const) },
  lambda_min_clipped: { default: -Infinity, check: numOrMinusInf },
  variance_type: { default: null, check: nullable(oneOf(VARIANCE_TYPES)) },
  ...spacingFields("linspace"),
  ...rescaleField,
};

/** Validate the combinations diffusers rejects (or could not run), naming the field. */
export function checkDpmCombination(c: DPMSolverMultistepConfig): void {
  const alg = c.algorithm_type;
  if ((alg === "dpmsolver" || alg === "sde-dpmsolver") && c.final_sigmas_type === "zero") {
    invalid(
      "final_sigmas_type",
      "zero",
      `"sigma_min" for algorithm_type ${alg} (its update divides by sigma = 0)`,
    );
  }
  if (alg.startsWith("sde-") && c.solver_order === 3) {
    invalid("solver_order", 3, `1 or 2 for algorithm_type ${alg} (no third-order SDE update)`);
  }
  if (c.use_lu_lambdas) invalid("use_lu_lambdas", true, "false (Lu lambdas are not implemented)");
}

export class DPMSolverMultistepScheduler extends SolverScheduler<DPMSolverMultistepConfig> {
  readonly className: string = "DPMSolverMultistepScheduler";
  readonly algorithm: DpmAlgorithm;
  readonly solverType: DpmSolverType;
  private outputs: (T.Tensor | null)[] = [];
  private lowerOrderNums = 0;

  constructor(config: Partial<DPMSolverMultistepConfig> = {}) {
    const parsed = parseConfig(SPEC, config as Record<string, unknown>);
    checkDpmCombination(parsed);
    super(parsed);
    this.algorithm = parsed.algorithm_type === "deis" ? "dpmsolver++" : parsed.algorithm_type;
    this.solverType = parsed.solver_type === "heun" ? "heun" : "midpoint";
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = this.checkSteps(numInferenceSteps, this.config.num_train_timesteps);
    const c = this.config;
    this.setGrid(
      solverTimesteps(
        c.timestep_spacing,
        c.num_train_timesteps,
        this.lastUnclippedTimestep(c.lambda_min_clipped),
        n,
        c.steps_offset,
      ),
      n,
    );
    this.outputs = new Array(c.solver_order).fill(null);
    this.lowerOrderNums = 0;
  }

  step(modelOutput: T.Tensor, timestep: number, sample: T.Tensor, options: StepOptions = {}): StepOutput {
    const i = this.currentIndex(timestep, this.timesteps.length - 1);
    const c = this.config;
    const n = this.timesteps.length;
    const lowerOrderFinal =
      i === n - 1 && (c.euler_at_final || (c.lower_order_final && n < 15) || c.final_sigmas_type === "zero");
    const lowerOrderSecond = i === n - 2 && c.lower_order_final && n < 15;
    const m = this.convertModelOutput(modelOutput, sample, i, predictsData(this.algorithm));
    this.outputs.shift();
    this.outputs.push(m);
    const z = this.algorithm.startsWith("sde-") ? this.drawNoise(m, options) : undefined;
    const t = this.level(i + 1);
    const order = c.solver_order;
    let prevSample: T.Tensor;
    if (order === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) {
      prevSample = dpmFirstOrder(this.algorithm, sample, m, this.level(i), t, z);
    } else if (order === 2 || this.lowerOrderNums < 2 || lowerOrderSecond) {
      const [m1, m0] = this.outputs.slice(-2) as T.Tensor[];
      prevSample = dpmMultistepSecondOrder(
        this.algorithm,
        this.solverType,
        sample,
        [m0, m1],
        [this.level(i), this.level(i - 1)],
        t,
        z,
      );
    } else {
      const [m2, m1, m0] = this.outputs.slice(-3) as T.Tensor[];
      const levels = [this.level(i), this.level(i - 1), this.level(i - 2)] as const;
      prevSample = dpmMultistepThirdOrder(this.algorithm, sample, [m0, m1, m2], levels, t);
    }
    if (this.lowerOrderNums < order) this.lowerOrderNums++;
    this.stepIndexValue = i + 1;
    return { prevSample };
  }
}
