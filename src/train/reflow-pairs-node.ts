/**
 * The couplings of reflow (Liu et al. 2022, Algorithm 1) cached on disk (Node): `<dir>/pairs.json`
 * (what they were drawn with) and chunk files `<dir>/pairs-NNNNN.safetensors` holding `noise` z,
 * `samples` x (the teacher's Euler ODE solution from z) and, for a class-conditional teacher, `labels`.
 * Each chunk's noise comes from its own key (seed, chunk index) and each file is written atomically,
 * so a killed generation resumes at the first missing chunk and ends with the same files as an
 * unbroken one. A cache drawn with other settings (teacher, count, steps, chunk, seed, shape) is
 * refused, naming the field.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { sampleFlowEuler } from "../diffusion/samplers/flow.js";
import { makeDir } from "../io/dirs.js";
import { readJsonFile, readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from "../io/files.js";
import type { Denoiser } from "../models/denoiser.js";
import type { Params } from "../nn/module.js";
import { compiledForward } from "../pipelines/generate.js";
import { foldIn, makeKey, normal } from "../random/index.js";
import * as T from "../tensor/index.js";
import { ConfigFieldError } from "./config.js";
import type { ReflowPairs } from "./reflow.js";

export const PAIRS_MANIFEST = "pairs.json";

/** Fold-in constant of the couplings' noise keys. */
const PAIRS_DOMAIN = 0x70616972;

export interface PairsSpec {
  /** The teacher folder (as given). */
  teacher: string;
  pairs: number;
  pairSteps: number;
  chunk: number;
  seed: number;
  /** One example's shape. */
  shape: number[];
  /** Number of classes of a class-conditional teacher (labels cycle 0..k-1), else 0. */
  numClasses: number;
}

export interface PairsTeacher {
  denoiser: Denoiser;
  params: Params;
  numTrainTimesteps: number;
}

const chunkFile = (dir: string, i: number) =>
  path.join(dir, `pairs-${String(i).padStart(5, "0")}.safetensors`);

/**
 * Draws the missing chunks of `spec` into `dir` (resuming a partial cache), reporting progress as
 * (pairs done, total); `signal` stops between chunks (what was written stays valid).
 */
export async function generateReflowPairs(
  dir: string,
  spec: PairsSpec,
  teacher: PairsTeacher,
  options: { threads?: number; onChunk?: (done: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<void> {
  await makeDir(dir, "distill.pairsDir");
  const manifest = path.join(dir, PAIRS_MANIFEST);
  if (existsSync(manifest)) {
    const saved = (await readJsonFile(manifest, "pairs manifest")) as Record<string, unknown>;
    for (const [k, v] of Object.entries(spec)) {
      if (JSON.stringify(saved[k]) !== JSON.stringify(v)) {
        throw new ConfigFieldError(
          `${manifest}: field "${k}" is ${JSON.stringify(saved[k])} but this run asks for ${JSON.stringify(v)}; remove ${dir} or choose another distill.pairsDir`,
        );
      }
    }
  } else {
    await writeFileAtomic(manifest, `${JSON.stringify(spec, null, 2)}\n`);
  }
  const fwd = compiledForward(teacher.denoiser, options.threads ?? 0, teacher.params);
  const chunks = Math.ceil(spec.pairs / spec.chunk);
  const row = spec.shape.reduce((a, b) => a * b, 1);
  for (let c = 0; c < chunks; c++) {
    if (existsSync(chunkFile(dir, c))) continue;
    if (options.signal?.aborted) return;
    const n = Math.min(spec.chunk, spec.pairs - c * spec.chunk);
    const shape = [n, ...spec.shape];
    const key = foldIn(foldIn(makeKey(spec.seed), PAIRS_DOMAIN), c);
    const noise = T.tensor(normal(key, n * row), shape);
    const labels =
      spec.numClasses > 0
        ? Int32Array.from({ length: n }, (_, i) => (c * spec.chunk + i) % spec.numClasses)
        : undefined;
    const y = labels ? T.tensor(labels, [n], "int32") : undefined;
    const velocity = (x: T.Tensor, t: number) =>
      fwd(teacher.params, x, T.tensor(new Float32Array(n).fill(t * teacher.numTrainTimesteps), [n]), y);
    const times = Float64Array.from({ length: spec.pairSteps + 1 }, (_, i) => 1 - i / spec.pairSteps);
    const x = await sampleFlowEuler(velocity, noise, times);
    await writeSafetensorsFile(chunkFile(dir, c), {
      noise: { dtype: "F32", shape, data: noise.values() as Float32Array },
      samples: { dtype: "F32", shape, data: x.values() as Float32Array },
      ...(labels ? { labels: { dtype: "I32" as const, shape: [n], data: labels } } : {}),
    });
    options.onChunk?.(Math.min((c + 1) * spec.chunk, spec.pairs), spec.pairs);
  }
}

/** All chunks of a complete cache, concatenated. */
export async function loadReflowPairs(
  dir: string,
  spec: PairsSpec,
): Promise<ReflowPairs & { labels?: Int32Array }> {
  const row = spec.shape.reduce((a, b) => a * b, 1);
  const noise = new Float32Array(spec.pairs * row);
  const samples = new Float32Array(spec.pairs * row);
  const labels = spec.numClasses > 0 ? new Int32Array(spec.pairs) : undefined;
  for (let c = 0; c * spec.chunk < spec.pairs; c++) {
    const file = chunkFile(dir, c);
    if (!existsSync(file)) throw new Error(`reflow pairs: ${file} is missing (the cache is incomplete)`);
    const { tensors } = await readSafetensorsFile(file);
    const get = (name: string) => {
      const t = (tensors as Map<string, { data: ArrayLike<number> }>).get(name);
      if (!t) throw new Error(`reflow pairs: ${file} has no tensor "${name}"`);
      return t.data;
    };
    noise.set(get("noise") as Float32Array, c * spec.chunk * row);
    samples.set(get("samples") as Float32Array, c * spec.chunk * row);
    if (labels) labels.set(get("labels") as Int32Array, c * spec.chunk);
  }
  return { noise, samples, shape: [spec.pairs, ...spec.shape], ...(labels ? { labels } : {}) };
}
