/**
 * Flags shared by `sample`, `edit`, `invert` and `interpolate`: the guidance refinements
 * (`--guidance-rescale`, `--guidance-interval LO,HI`), class labels for a batch of given size, and
 * `sample --latents FILE` (reconstruction from `diffuse invert`'s latents).
 */
import { INVERT_DEFAULT_STEPS } from "../pipelines/edit.js";
import type { DiffusionPipeline } from "../pipelines/pipeline.js";
import type * as T from "../tensor/index.js";
import { type Flag, type FlagValue, UsageError } from "./args.js";
import { readLatents } from "./edit-io.js";

export const GUIDANCE_FLAGS: readonly Flag[] = [
  {
    name: "guidance-rescale",
    kind: "number",
    value: "PHI",
    help: "guidance rescale phi in [0, 1] (Lin et al. 2024, diffusers' guidance_rescale; default 0)",
  },
  {
    name: "guidance-interval",
    kind: "list",
    value: "LO,HI",
    help: "guide only at model timesteps LO <= t <= HI; the conditional output elsewhere",
  },
];

export interface GuidanceFlags {
  guidanceRescale?: number;
  guidanceInterval?: [number, number];
}

/** --guidance-rescale and --guidance-interval, checked. */
export function guidanceFrom(values: Record<string, FlagValue>): GuidanceFlags {
  const out: GuidanceFlags = {};
  const phi = values.guidanceRescale as number | undefined;
  if (phi !== undefined) {
    if (!(phi >= 0 && phi <= 1)) throw new UsageError(`--guidance-rescale: ${phi} is not in [0, 1]`);
    out.guidanceRescale = phi;
  }
  const raw = values.guidanceInterval as string[] | undefined;
  if (raw !== undefined) {
    const v = raw.map(Number);
    if (v.length !== 2 || v.some((x) => !Number.isFinite(x)) || v[0]! > v[1]!) {
      throw new UsageError(
        `--guidance-interval: expected two timesteps LO,HI with LO <= HI, got ${JSON.stringify(raw.join(","))}`,
      );
    }
    out.guidanceInterval = [v[0]!, v[1]!];
  }
  return out;
}

/** --class-labels for `n` items (repeated cyclically), checked against the model's classes. */
export function labelsFlag(
  raw: string[] | undefined,
  pipe: DiffusionPipeline,
  n: number,
): Int32Array | undefined {
  if (raw === undefined) return undefined;
  const k = pipe.denoiser.numClassEmbeds;
  if (k === null) throw new UsageError("--class-labels: the model is unconditional (no class embedding)");
  if (raw.length === 0) throw new UsageError("--class-labels: expected at least one label");
  const labels = raw.map((s) => {
    const v = Number(s);
    if (!/^\d+$/.test(s) || v >= k) {
      throw new UsageError(
        `--class-labels: ${JSON.stringify(s)} is not a class; expected integers in [0, ${k - 1}]`,
      );
    }
    return v;
  });
  return Int32Array.from({ length: n }, (_, i) => labels[i % labels.length]!);
}

export interface LatentsFlags {
  file: string;
  /** --steps as given (default: the latents file's `steps`). */
  steps?: number;
}

/**
 * `sample --latents FILE`: refuses a sampler other than DDIM (reconstruction is DDIM's inverse); latents
 * that `invert --method pf_ode` wrote (metadata method) decode with the probability-flow ODE.
 */
export function latentsFlags(values: Record<string, FlagValue>): LatentsFlags {
  const sampler = values.sampler as string | undefined;
  if (sampler !== undefined && sampler.toLowerCase() !== "ddim" && sampler !== "DDIMScheduler") {
    throw new UsageError(
      `--latents: reconstruction runs DDIM (the inverse of diffuse invert); drop --sampler ${sampler}`,
    );
  }
  if (values.eta !== undefined && values.eta !== 0)
    throw new UsageError("--latents: DDIM runs with eta 0; drop --eta");
  return {
    file: values.latents as string,
    ...(values.steps !== undefined ? { steps: values.steps as number } : {}),
  };
}

/** The latents of `sample --latents`, their labels (flag, else the file's) and the step count. */
export async function reconstructFrom(
  l: LatentsFlags,
  pipe: DiffusionPipeline,
  classLabels: string[] | undefined,
  numSamples: number | undefined,
): Promise<{ x: T.Tensor; labels?: Int32Array; steps: number; method: "ddim" | "pf_ode" }> {
  const batch = await readLatents(l.file, pipe.denoiser.exampleShape);
  const n = batch.x.shape[0]!;
  if (numSamples !== undefined && numSamples !== n) {
    throw new UsageError(`--num-samples ${numSamples}: ${l.file} holds ${n} latents; drop --num-samples`);
  }
  const conditional = pipe.denoiser.numClassEmbeds !== null;
  const labels = labelsFlag(classLabels, pipe, n) ?? (conditional ? batch.labels : undefined);
  if (conditional && !labels) {
    throw new UsageError(
      `--class-labels: ${l.file} has no labels and the model is class-conditional; give them`,
    );
  }
  const fileSteps = Number(batch.metadata?.steps);
  const steps = l.steps ?? (Number.isInteger(fileSteps) && fileSteps > 0 ? fileSteps : INVERT_DEFAULT_STEPS);
  const method = batch.metadata?.method === "pf_ode" ? "pf_ode" : "ddim";
  return { x: batch.x, ...(labels ? { labels } : {}), steps, method };
}
