/** What a model folder records beyond diffusers' fields (model_index.json's "_diffuse" entry). Browser-safe. */
import type { TableSchema } from "../data/table-schema.js";
import type { Normalization } from "../data/types.js";

/** What model_index.json's "_diffuse" entry records. */
export interface ModelInfo {
  /** Number of real classes (labels 0..numClasses-1) of a class-conditional model. */
  numClasses?: number;
  /** The unconditional class index used for classifier-free guidance (= numClasses). */
  nullClass?: number;
  classNames?: string[];
  dataset?: string;
  dataKind?: "image" | "points" | "table";
  /** Vector data: the affine map from model space back to data units. */
  normalization?: Normalization;
  /** Mixed tables: the column schema (numeric mean/std, categories) that decodes a row. */
  table?: TableSchema;
  /** Optimizer steps the weights were trained for. */
  steps?: number;
  /** The validation loss of these weights (the `best/` folder of a run). */
  validLoss?: number;
  /** A consistency model on a VP grid (train/few-step-objectives.ts): sampled by consistency-vp.ts. */
  consistency?: ConsistencyModelInfo;
  /** A reflow student (`diffuse distill --method reflow`): a flow model, sampled by flow Euler. */
  reflow?: ReflowModelInfo;
}

/** How a reflow student was trained (Liu et al. 2022): its stage and the couplings it learned. */
export interface ReflowModelInfo {
  /** 1: retrained on the teacher's couplings; 2: distilled to one step (t = 1 only). */
  stage: number;
  /** Couplings drawn from the teacher, and the teacher's Euler steps per coupling. */
  pairs: number;
  pairSteps: number;
}

/**
 * The grid a consistency student was trained on: `numScales` points t_n = round(n maxTimestep /
 * (numScales - 1)) of its scheduler's VP schedule, boundary coefficients with `sigmaData`.
 */
export interface ConsistencyModelInfo {
  numScales: number;
  maxTimestep: number;
  sigmaData: number;
}
