/**
 * `diffuse invert`, `diffuse edit`, `diffuse interpolate`: thin shells over the pipeline's editing
 * calls (pipelines/edit.ts). Inputs are read and checked (edit-io.ts) before anything is written;
 * outputs are written atomically.
 *
 *   diffuse invert --model DIR --input FILE --steps N --out latents.safetensors
 *   diffuse edit --model DIR --input FILE --strength S [--class-labels 8] [--guidance-scale W] --out x.png
 *   diffuse interpolate --model DIR --input A B --frames K --out strip.png
 *
 * interpolate's A and B are each `seed:N` (a standard-normal latent drawn from seed N), a latents
 * file of one latent (`diffuse invert`'s output), or one image (PNG, or a safetensors `images` of one)
 * that is DDIM-inverted first with --steps.
 */
import path from "node:path";
import { checkStrength } from "../diffusion/editing.js";
import { gaussianNoise } from "../diffusion/noise.js";
import { makeDir } from "../io/dirs.js";
import { writeFileAtomic, writeSafetensorsFile } from "../io/files.js";
import { encodePng } from "../io/png.js";
import type { StTensor } from "../io/safetensors.js";
import { INVERT_DEFAULT_FIXED_POINT, INVERT_DEFAULT_STEPS } from "../pipelines/edit.js";
import type { DiffusionPipeline, PipelineOutput } from "../pipelines/pipeline.js";
import { loadPipeline } from "../pipelines/pipeline-node.js";
import { checkSamplerSpec } from "../pipelines/samplers.js";
import type * as T from "../tensor/index.js";
import { type Command, type Flag, type FlagValue, helpText, parseFlags, UsageError } from "./args.js";
import { GUIDANCE_FLAGS, guidanceFrom, labelsFlag } from "./edit-flags.js";
import { readImages, readLatents } from "./edit-io.js";
import { LIMIT_FLAGS, MEMORY_HINT, memoryLimitFrom, threadsFrom } from "./limits.js";

const f = (name: string, kind: Flag["kind"], value: string, help: string): Flag => ({
  name,
  kind,
  value,
  help,
});
const MODEL = f("model", "string", "DIR", "model folder (as for diffuse sample)");
const LABELS = f("class-labels", "list", "0,1,...", "class of each image (class-conditional models)");
const THREADS = f("threads", "int", "N", "ONNX Runtime threads (0: all cores)");
const FIXED = f(
  "fixed-point-iterations",
  "int",
  "K",
  `refinements of each inversion step (default ${INVERT_DEFAULT_FIXED_POINT}; 0: plain DDIMInverseScheduler)`,
);

export const INVERT_COMMAND: Command = {
  name: "invert",
  summary: "DDIM-invert images to latents x_T (reconstruct with diffuse sample --latents)",
  usage: "diffuse invert --model DIR --input FILE [--steps N] [--class-labels ...] --out latents.safetensors",
  flags: [
    MODEL,
    f(
      "input",
      "string",
      "FILE",
      "one image (.png at the model's size) or .safetensors with images [N,C,H,W] in [-1,1]",
    ),
    f("steps", "posint", "N", `DDIM steps (default ${INVERT_DEFAULT_STEPS})`),
    LABELS,
    FIXED,
    {
      name: "method",
      kind: "string",
      value: "NAME",
      help: "ddim (default) or pf_ode (probability-flow ODE, adaptive; --steps ignored)",
      choices: ["ddim", "pf_ode"],
    },
    f("out", "string", "FILE", "output .safetensors: tensor latents [N,C,H,W] (+ labels), metadata steps"),
    THREADS,
    ...LIMIT_FLAGS,
  ],
  epilog: "Inversion turns clip_sample off (a clipped x0 cannot be inverted) and says so.",
};

export const EDIT_COMMAND: Command = {
  name: "edit",
  summary: "image-to-image (SDEdit): noise images part way, then denoise (new labels, guidance)",
  usage:
    "diffuse edit --model DIR --input FILE --strength S [--class-labels ...] [--guidance-scale W] [--sampler NAME] [--steps N] [--seed S] --out FILE",
  flags: [
    MODEL,
    f("input", "string", "FILE", "images, as for diffuse invert"),
    f("strength", "number", "S", "in (0, 1]: runs floor(steps S) of the steps (diffusers' img2img)"),
    LABELS,
    f("guidance-scale", "number", "W", "classifier-free guidance (default 2 for class-conditional models)"),
    ...GUIDANCE_FLAGS,
    f("sampler", "string", "NAME", "scheduler sampler (default dpmsolver++)"),
    f("steps", "posint", "N", "steps of the full schedule (default 20)"),
    f("seed", "int", "S", "seed of the added noise (default 0)"),
    f("out", "string", "FILE", "output .png (grid) or .safetensors (samples [N,C,H,W])"),
    THREADS,
    ...LIMIT_FLAGS,
  ],
};

export const INTERPOLATE_COMMAND: Command = {
  name: "interpolate",
  summary: "spherical interpolation between two latents, decoded as a strip",
  usage:
    "diffuse interpolate --model DIR --input A B [--frames K] [--steps N] [--class-labels Y] --out strip.png",
  flags: [
    MODEL,
    f(
      "input",
      "string",
      "A",
      "first end: seed:N, a latents .safetensors, or an image to invert (also: --input A B)",
    ),
    f("input-b", "string", "B", "second end (as --input)"),
    f("frames", "posint", "K", "frames, both ends included (default 8)"),
    f("steps", "posint", "N", `DDIM steps of inversion and decoding (default ${INVERT_DEFAULT_STEPS})`),
    f("class-labels", "list", "Y", "class of every frame (class-conditional models)"),
    FIXED,
    f("out", "string", "FILE", "output .png (one row) or .safetensors (samples + latents)"),
    THREADS,
    ...LIMIT_FLAGS,
  ],
};

function need(values: Record<string, FlagValue>, name: string, what: string): string {
  const v = values[name];
  if (typeof v !== "string")
    throw new UsageError(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: required (${what})`);
  return v;
}

function outPath(values: Record<string, FlagValue>, exts: string[]): string {
  const out = need(values, "out", `a ${exts.join(" or ")} file`);
  if (!exts.includes(path.extname(out).toLowerCase())) {
    throw new UsageError(`--out: ${JSON.stringify(out)} must end in ${exts.join(" or ")}`);
  }
  return out;
}

async function open(values: Record<string, FlagValue>): Promise<DiffusionPipeline> {
  const model = need(values, "model", "the folder of a trained model");
  return loadPipeline(model, { maxMemory: memoryLimitFrom(values), memoryHint: MEMORY_HINT });
}

/** Labels for n items: the flag, else the file's, else none (the pipeline says when they are needed). */
function labelsFor(
  values: Record<string, FlagValue>,
  pipe: DiffusionPipeline,
  n: number,
  fromFile?: Int32Array,
) {
  const given = labelsFlag(values.classLabels as string[] | undefined, pipe, n);
  if (given) return given;
  return pipe.denoiser.numClassEmbeds !== null ? fromFile : undefined;
}

async function writeOutput(
  out: string,
  output: PipelineOutput,
  nrow: number,
  extra: Record<string, StTensor> = {},
) {
  const shape = [...output.samples.shape];
  if (path.extname(out).toLowerCase() === ".safetensors") {
    const tensors: Record<string, StTensor> = {
      samples: { dtype: "F32", shape, data: output.values() },
      ...extra,
    };
    if (output.labels) tensors.labels = { dtype: "I32", shape: [output.labels.length], data: output.labels };
    await writeSafetensorsFile(out, tensors, { format: "pt" });
  } else {
    await writeFileAtomic(out, encodePng(output.toImage({ nrow })));
  }
  return shape;
}

function print(result: Record<string, unknown>): number {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

export async function invertMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(INVERT_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(INVERT_COMMAND));
    return 0;
  }
  const out = outPath(values, [".safetensors"]);
  const input = need(values, "input", "the images to invert");
  const threads = threadsFrom(values.threads, values);
  await makeDir(path.dirname(path.resolve(out)), "--out");
  const pipe = await open(values);
  const batch = await readImages(input, pipe.denoiser.exampleShape);
  const n = batch.x.shape[0]!;
  const labels = labelsFor(values, pipe, n, batch.labels);
  const steps = (values.steps as number | undefined) ?? INVERT_DEFAULT_STEPS;
  const fixed = (values.fixedPointIterations as number | undefined) ?? INVERT_DEFAULT_FIXED_POINT;
  const method = (values.method as "ddim" | "pf_ode" | undefined) ?? "ddim";
  const xT = await pipe.invert(batch.x, {
    method,
    steps,
    fixedPointIterations: fixed,
    threads,
    ...(labels ? { labels } : {}),
  });
  const shape = [...xT.shape];
  const tensors: Record<string, StTensor> = {
    latents: { dtype: "F32", shape, data: xT.values() as Float32Array },
  };
  if (labels) tensors.labels = { dtype: "I32", shape: [n], data: labels };
  await writeSafetensorsFile(out, tensors, {
    format: "pt",
    steps: String(steps),
    method,
    fixed_point_iterations: String(fixed),
    model: need(values, "model", ""),
  });
  return print({ out, shape, method, steps, ...(labels ? { labels: [...labels] } : {}) });
}

export async function editMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(EDIT_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(EDIT_COMMAND));
    return 0;
  }
  const out = outPath(values, [".png", ".safetensors"]);
  const input = need(values, "input", "the images to edit");
  const strength = values.strength as number | undefined;
  if (strength === undefined) throw new UsageError("--strength: required, a number in (0, 1]");
  try {
    checkStrength(strength);
  } catch (e) {
    throw new UsageError(`--${(e as Error).message}`);
  }
  const sampler = (values.sampler as string | undefined) ?? "dpmsolver++";
  try {
    checkSamplerSpec({ name: sampler });
  } catch (e) {
    throw new UsageError(`--${(e as Error).message}`);
  }
  const guidance = guidanceFrom(values);
  const threads = threadsFrom(values.threads, values);
  await makeDir(path.dirname(path.resolve(out)), "--out");
  const pipe = await open(values);
  const batch = await readImages(input, pipe.denoiser.exampleShape);
  const n = batch.x.shape[0]!;
  const labels = labelsFor(values, pipe, n, batch.labels);
  const output = await pipe.edit(batch.x, {
    strength,
    sampler,
    steps: (values.steps as number | undefined) ?? 20,
    seed: (values.seed as number | undefined) ?? 0,
    threads,
    ...guidance,
    ...(values.guidanceScale !== undefined ? { guidanceScale: values.guidanceScale as number } : {}),
    ...(labels ? { labels } : {}),
  });
  const shape = await writeOutput(out, output, Math.min(n, 8));
  return print({ out, shape, strength, ...(labels ? { labels: [...labels] } : {}) });
}

/** One end of an interpolation as a latent [1, ...]: seed:N, a latents file, or an image to invert. */
async function endLatent(
  spec: string,
  pipe: DiffusionPipeline,
  values: Record<string, FlagValue>,
  steps: number,
  labels: Int32Array | undefined,
  threads: number,
): Promise<T.Tensor> {
  const example = pipe.denoiser.exampleShape;
  const seed = /^seed:(\d+)$/.exec(spec);
  if (seed) return gaussianNoise(Number(seed[1]))([1, ...example]);
  if (spec.startsWith("seed:"))
    throw new UsageError(`--input: ${JSON.stringify(spec)}: expected seed:N with N an integer >= 0`);
  const isLatents =
    path.extname(spec).toLowerCase() === ".safetensors" &&
    (await readLatents(spec, example).then(
      () => true,
      (e: Error) => (/no tensor "latents"/.test(e.message) ? false : Promise.reject(e)),
    ));
  const batch = isLatents ? await readLatents(spec, example) : await readImages(spec, example);
  if (batch.x.shape[0] !== 1) {
    throw new UsageError(
      `--input: ${spec} holds ${batch.x.shape[0]} items; an end of an interpolation is one`,
    );
  }
  if (isLatents) return batch.x;
  const fixed = (values.fixedPointIterations as number | undefined) ?? INVERT_DEFAULT_FIXED_POINT;
  return pipe.invert(batch.x, {
    steps,
    fixedPointIterations: fixed,
    threads,
    ...(labels ? { labels: [labels[0]!] } : {}),
  });
}

/** `--input A B` becomes `--input A --input-b B` (the flag parser takes one value per flag). */
function splitPair(argv: string[]): string[] {
  const i = argv.indexOf("--input");
  const b = argv[i + 2];
  if (i < 0 || b === undefined || b.startsWith("--")) return argv;
  return [...argv.slice(0, i + 2), "--input-b", ...argv.slice(i + 2)];
}

export async function interpolateMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(INTERPOLATE_COMMAND, splitPair(argv));
  if (help) {
    process.stdout.write(helpText(INTERPOLATE_COMMAND));
    return 0;
  }
  const out = outPath(values, [".png", ".safetensors"]);
  const a = need(values, "input", "the first end: seed:N, latents or an image");
  const b = need(values, "inputB", "the second end (--input A B)");
  const frames = (values.frames as number | undefined) ?? 8;
  if (frames < 2) throw new UsageError(`--frames: ${frames} is below 2 (both ends are frames)`);
  const steps = (values.steps as number | undefined) ?? INVERT_DEFAULT_STEPS;
  const threads = threadsFrom(values.threads, values);
  await makeDir(path.dirname(path.resolve(out)), "--out");
  const pipe = await open(values);
  const labels = labelsFor(values, pipe, frames);
  const xa = await endLatent(a, pipe, values, steps, labels, threads);
  const xb = await endLatent(b, pipe, values, steps, labels, threads);
  const output = await pipe.interpolate(xa, xb, { frames, steps, threads, ...(labels ? { labels } : {}) });
  const shape = await writeOutput(out, output, frames);
  return print({ out, shape, frames, steps });
}
