/**
 * The page's digit sampler: the shipped model folder (web/model, fetched from the page's own folder)
 * as a `DiffusionPipeline`, sampled through `generate()` with a watching scheduler (watch.ts) so each
 * step's x_t and predicted x0 can be drawn. Browser-safe; the browser test compares its samples with
 * the Node pipeline's for the same seed, sampler and steps.
 */
import { DiffusionPipeline } from "diffuse/core";
import { type Watched, watchScheduler } from "./watch.js";

/** Samplers the page offers (diffusers schedulers with one model evaluation per step). */
export const PAGE_SAMPLERS = ["dpmsolver++", "ddim", "ddpm", "unipc", "euler", "euler_ancestral"] as const;

/** Reads a model folder from `base` (a URL ending in "/"). */
export async function fetchPipeline(base: string): Promise<DiffusionPipeline> {
  const get = async (file: string) => {
    const r = await fetch(new URL(file, base));
    if (!r.ok) throw new Error(`fetching ${file}: HTTP ${r.status}`);
    return r;
  };
  const [config, weights, schedulerConfig, modelIndex] = await Promise.all([
    get("unet/config.json").then((r) => r.json()),
    get("unet/diffusion_pytorch_model.safetensors").then((r) => r.arrayBuffer()),
    get("scheduler/scheduler_config.json").then((r) => r.json()),
    get("model_index.json").then((r) => r.json()),
  ]);
  return DiffusionPipeline.fromFiles({
    config,
    weights: new Uint8Array(weights),
    schedulerConfig,
    modelIndex,
  });
}

export interface DigitRequest {
  labels: number[];
  guidanceScale: number;
  sampler: string;
  steps: number;
  seed: number;
}

/** Samples digits; `onStep` sees every step (x_t, x0) with its wall time in ms. */
export async function sampleDigits(
  pipe: DiffusionPipeline,
  req: DigitRequest,
  onStep: (w: Watched, ms: number) => void,
  threads?: number,
) {
  let last = performance.now();
  const scheduler = watchScheduler(pipe.scheduler(req.sampler), pipe.schedulerConfig, (w) => {
    const now = performance.now();
    onStep(w, now - last);
    last = now;
  });
  const out = await pipe.generate({
    labels: req.labels,
    guidanceScale: req.guidanceScale,
    sampler: scheduler,
    steps: req.steps,
    seed: req.seed,
    ...(threads ? { threads } : {}),
  });
  return { values: out.values(), shape: [...out.samples.shape], labels: [...(out.labels ?? [])] };
}
