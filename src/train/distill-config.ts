/**
 * The settings of the few-step objectives (issue 13), the `distill` field of a TrainConfig: consistency
 * training (Song & Dhariwal 2023), consistency distillation (Song et al. 2023, Algorithm 2) and reflow
 * (Liu et al. 2022, Algorithm 1, with the one-step distillation of its Sec. 2.3 as stage 2). One
 * object, validated here, so that the trainer's config gains one field. Errors name the field, the
 * value and what was expected. Browser-safe.
 */

import { ConfigFieldError } from "./config.js";
import { CONSISTENCY_DISTANCES } from "./consistency-loss.js";

/** The teacher's ODE step between adjacent grid points in consistency distillation. */
export const TEACHER_SOLVERS = ["ddim", "heun"] as const;
/** The target network of consistency distillation: the run's EMA weights, or stopgrad(online). */
export const CONSISTENCY_TARGETS = ["ema", "online"] as const;

export interface DistillSettings {
  /** The teacher model folder (consistency-distill, reflow). */
  teacher: string;
  /**
   * Points N of the VP discretisation grid t_0 = 0 < ... < t_{N-1} = maxTimestep (consistency
   * distillation; consistency training's curriculum ends here).
   */
  numScales: number;
  /** The top of the grid (default round(0.95 T)): see `defaultMaxTimestep`. */
  maxTimestep: number;
  /** Distance d of the consistency loss. */
  distance: (typeof CONSISTENCY_DISTANCES)[number];
  /** The teacher's step from t_{n+1} to t_n (DDIM: 1 evaluation; Heun: 2). */
  solver: (typeof TEACHER_SOLVERS)[number];
  target: (typeof CONSISTENCY_TARGETS)[number];
  /** Reflow: number of (noise, sample) couplings drawn from the teacher. */
  pairs: number;
  /** Reflow: Euler steps of the teacher per coupling. */
  pairSteps: number;
  /** Reflow: folder of the cached couplings (default <out>/pairs). */
  pairsDir: string;
  /** Reflow: 1 = retrain on the couplings over t ~ U(0, 1); 2 = distil to one step (t = 1 only). */
  stage: number;
  /** Reflow: couplings per cached chunk file. */
  chunk: number;
}

export const DISTILL_DEFAULTS: Omit<DistillSettings, "teacher" | "pairsDir" | "maxTimestep"> = {
  numScales: 18,
  distance: "pseudo-huber",
  solver: "ddim",
  // mu = 0 (stopgrad of the online weights), as Song & Dhariwal 2023 recommend. On moons (the
  // test/train/distill-run.test.ts setup, 300 steps; not a clean A/B: the learning rates differ)
  // one-step samples landed at mean NN distance 0.074 with it at lr 5e-4, 0.107 with the run's EMA
  // weights as target at lr 1e-3.
  target: "online",
  pairs: 2000,
  pairSteps: 20,
  stage: 1,
  chunk: 250,
};

/**
 * The default top of the VP grid, round(0.95 T): at t = T - 1 the cosine schedule has alpha ~ 5e-5,
 * where an epsilon teacher's x0 = (x - sigma eps) / alpha divides by ~0 (the same reason DDIM's
 * "leading" spacing starts at 0.95 T). One-step sampling starts from N(0, I) there (alpha 0.08).
 */
export function defaultMaxTimestep(numTrainTimesteps: number): number {
  return Math.round(0.95 * numTrainTimesteps);
}

type Kind = "string" | "int2" | "posint" | "index" | readonly string[];

const FIELDS: Record<keyof DistillSettings, Kind> = {
  teacher: "string",
  numScales: "int2",
  maxTimestep: "index",
  distance: CONSISTENCY_DISTANCES,
  solver: TEACHER_SOLVERS,
  target: CONSISTENCY_TARGETS,
  pairs: "posint",
  pairSteps: "posint",
  pairsDir: "string",
  stage: ["1", "2"],
  chunk: "posint",
};

function ok(kind: Kind, v: unknown): boolean {
  if (Array.isArray(kind))
    return kind.includes(String(v)) && (typeof v === "string" || typeof v === "number");
  if (kind === "string") return typeof v === "string" && v.length > 0;
  const min = kind === "int2" ? 2 : kind === "posint" ? 1 : 0;
  return Number.isSafeInteger(v) && (v as number) >= min;
}

function expected(kind: Kind): string {
  if (Array.isArray(kind)) return `one of ${kind.join(", ")}`;
  return { string: "a path", int2: "an integer >= 2", posint: "an integer >= 1", index: "an integer >= 0" }[
    kind as string
  ]!;
}

/**
 * The settings of `raw` (the config's `distill` object) over the defaults; `numTrainTimesteps` checks
 * the grid against the schedule. Unknown keys and bad values are ConfigFieldErrors naming the field.
 */
export function resolveDistillSettings(
  raw: Record<string, unknown>,
  numTrainTimesteps: number,
  out: string,
  source = "config",
): DistillSettings {
  for (const [key, value] of Object.entries(raw)) {
    const kind = FIELDS[key as keyof DistillSettings];
    if (!kind) {
      throw new ConfigFieldError(
        `${source}: unknown field "distill.${key}"; expected one of ${Object.keys(FIELDS).join(", ")}`,
      );
    }
    if (!ok(kind, value)) {
      throw new ConfigFieldError(
        `${source}: field "distill.${key}" is ${JSON.stringify(value)}; expected ${expected(kind)}`,
      );
    }
  }
  const s: DistillSettings = {
    teacher: "",
    pairsDir: `${out}/pairs`,
    maxTimestep: defaultMaxTimestep(numTrainTimesteps),
    ...DISTILL_DEFAULTS,
    ...(raw as Partial<DistillSettings>),
  };
  s.stage = Number(s.stage);
  if (s.maxTimestep > numTrainTimesteps - 1) {
    throw new ConfigFieldError(
      `${source}: field "distill.maxTimestep" is ${s.maxTimestep} but "numTrainTimesteps" is ${numTrainTimesteps}; expected maxTimestep <= ${numTrainTimesteps - 1}`,
    );
  }
  if (s.numScales > s.maxTimestep + 1) {
    throw new ConfigFieldError(
      `${source}: field "distill.numScales" is ${s.numScales} but "distill.maxTimestep" is ${s.maxTimestep}; expected numScales <= ${s.maxTimestep + 1} (one grid point per timestep at most)`,
    );
  }
  return s;
}
