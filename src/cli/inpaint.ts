/**
 * `diffuse inpaint`: complete the unknown part of images with a trained model (pipelines/inpaint.ts).
 *
 *   diffuse inpaint --model DIR --input FILE --mask FILE --out FILE [sampler flags of `diffuse sample`]
 *     [--repaint-jump J --repaint-resample R] [--reconstruction-guidance W]
 *     [--infer-class [--class-levels L] [--class-candidates C] [--guidance-scale G]]
 *
 * --input: a PNG (one image, 8-bit, its channels those of the model) or a safetensors file with
 * `images` [N, C, H, W] in [-1, 1]. --mask: a PNG (0 = generate, 255 = keep; gray) or a safetensors
 * file with `mask` [N, 1, H, W] or [1, 1, H, W] (1 = keep). --out: .png (a grid) or .safetensors
 * (`samples`). Every file is read and checked before sampling; on an error nothing is written.
 */

import { readFile } from "node:fs/promises";
import path from "node:path";
import { makeDir } from "../io/dirs.js";
import { readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from "../io/files.js";
import { InputError } from "../io/input-error.js";
import { decodePng, encodePng } from "../io/png.js";
import { tensorToFloat32 } from "../io/safetensors_convert.js";
import { inpaint } from "../pipelines/inpaint.js";
import { loadPipeline } from "../pipelines/pipeline-node.js";
import * as T from "../tensor/index.js";
import { type Command, type FlagValue, helpText, parseFlags, UsageError } from "./args.js";
import { LIMIT_FLAGS, MEMORY_HINT, memoryLimitFrom, threadsFrom } from "./limits.js";
import { SAMPLE_COMMAND, samplerSpec } from "./sample.js";

const SHARED = ["sampler", "eta", "variance-type", "timestep-spacing", "snr", "steps", "seed", "threads"];

export const INPAINT_COMMAND: Command = {
  name: "inpaint",
  summary: "complete the masked part of images with a trained model",
  usage:
    "diffuse inpaint --model DIR --input FILE --mask FILE --out FILE [--sampler NAME] [--steps N] [--seed S] [--repaint-jump J --repaint-resample R] [--reconstruction-guidance W] [--infer-class]",
  flags: [
    { name: "model", kind: "string", value: "DIR", help: "model folder (as for diffuse sample)" },
    {
      name: "input",
      kind: "string",
      value: "FILE",
      help: "images: a PNG, or safetensors with `images` [N, C, H, W] in [-1, 1]",
    },
    {
      name: "mask",
      kind: "string",
      value: "FILE",
      help: "1 = keep: a PNG (255 keep, 0 generate) or safetensors `mask` [N or 1, 1, H, W]",
    },
    { name: "out", kind: "string", value: "FILE", help: "output: .png (grid) or .safetensors (`samples`)" },
    ...SAMPLE_COMMAND.flags.filter((f) => SHARED.includes(f.name)),
    {
      name: "repaint-jump",
      kind: "posint",
      value: "J",
      help: "RePaint (Lugmayr et al. 2022): jump length (DDPM steps; needs --repaint-resample)",
    },
    { name: "repaint-resample", kind: "posint", value: "R", help: "RePaint: resample count (1 = none)" },
    {
      name: "reconstruction-guidance",
      kind: "number",
      value: "W",
      help: "reconstruction guidance weight (Ho et al. 2022; 0 = off; costs a backward pass per step)",
    },
    {
      name: "infer-class",
      kind: "boolean",
      help: "infer each image's class from its known part with the model's own denoising errors, then complete guided toward it (class-conditional models with a null class, _diffuse.nullClass)",
    },
    {
      name: "class-levels",
      kind: "posint",
      value: "L",
      help: "--infer-class: noise levels of the class posterior, over [0.1 T, 0.7 T] (default 5)",
    },
    {
      name: "class-candidates",
      kind: "posint",
      value: "C",
      help: "--infer-class: complete toward each of the C most probable classes and keep the completion whose known part the model explains best (default 1: the most probable class only)",
    },
    {
      name: "guidance-scale",
      kind: "number",
      value: "G",
      help: "--infer-class: classifier-free guidance scale toward the inferred class (default 2)",
    },
    { name: "nrow", kind: "posint", value: "N", help: "images per grid row (default 8)" },
    ...LIMIT_FLAGS,
  ],
  epilog:
    "Known pixels (mask 1) come back exactly. Default: replacement with DDPM, 50 steps. RePaint uses DDPM ancestral steps whatever --sampler says.",
};

interface Loaded {
  tensor: T.Tensor;
  file: string;
}

/** The tensor `name` of a safetensors file (or its only tensor), as float32. */
async function fromSafetensors(file: string, name: string): Promise<T.Tensor> {
  const st = await readSafetensorsFile(file);
  const entries = [...st.tensors.entries()];
  const hit = st.tensors.get(name) ?? (entries.length === 1 ? entries[0]![1] : undefined);
  if (!hit) {
    throw new InputError(`no tensor "${name}" (has: ${entries.map(([k]) => k).join(", ") || "none"})`, {
      file,
    });
  }
  return T.tensor(tensorToFloat32(hit), [...hit.shape]);
}

async function readPng(file: string) {
  try {
    return decodePng(new Uint8Array(await readFile(file)));
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError((e as Error).message, { file });
  }
}

/** --input: [N, C, H, W] in [-1, 1]. */
async function readInput(file: string): Promise<Loaded> {
  if (file.toLowerCase().endsWith(".safetensors"))
    return { tensor: await fromSafetensors(file, "images"), file };
  const png = await readPng(file);
  const { width: w, height: h, channels: c } = png;
  const data = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h * w; i++) data[ch * h * w + i] = png.data[i * c + ch]! / 127.5 - 1;
  }
  return { tensor: T.tensor(data, [1, c, h, w]), file };
}

/** --mask: [N or 1, 1, H, W] of 0 / 1 (a PNG's first channel: 255 -> 1, 0 -> 0, else an error). */
async function readMask(file: string): Promise<Loaded> {
  if (file.toLowerCase().endsWith(".safetensors"))
    return { tensor: await fromSafetensors(file, "mask"), file };
  const png = await readPng(file);
  const { width: w, height: h, channels: c } = png;
  const data = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) {
    const v = png.data[i * c]!;
    if (v !== 0 && v !== 255) {
      throw new InputError(
        `mask pixel (${i % w}, ${Math.floor(i / w)}) is ${v}: not binary (expected 0 = generate or 255 = keep)`,
        { file },
      );
    }
    data[i] = v === 255 ? 1 : 0;
  }
  return { tensor: T.tensor(data, [1, 1, h, w]), file };
}

export interface InpaintSettings {
  model: string;
  input: string;
  mask: string;
  out: string;
  flags: Record<string, FlagValue>;
}

/** Reads, checks, inpaints, writes; returns what was written. */
export async function runInpaint(s: InpaintSettings, progress?: NodeJS.WriteStream) {
  const v = s.flags;
  const jump = v.repaintJump as number | undefined;
  const resample = v.repaintResample as number | undefined;
  if ((jump === undefined) !== (resample === undefined)) {
    throw new UsageError("--repaint-jump and --repaint-resample go together (RePaint needs both)");
  }
  const spec = samplerSpec({ sampler: "ddpm", ...v });
  await makeDir(path.dirname(path.resolve(s.out)), "--out");
  const infer = v.inferClass === true;
  if (
    !infer &&
    (v.classLevels !== undefined || v.classCandidates !== undefined || v.guidanceScale !== undefined)
  )
    throw new UsageError("--class-levels, --class-candidates and --guidance-scale go with --infer-class");
  const pipe = await loadPipeline(s.model, { maxMemory: memoryLimitFrom(v), memoryHint: MEMORY_HINT });
  if (
    infer &&
    (pipe.numClasses === null || pipe.info.nullClass === undefined || pipe.info.nullClass === null)
  ) {
    throw new InputError(
      `--infer-class needs a class-conditional model trained with label dropout: ${pipe.numClasses === null ? "this model is unconditional" : "it has no null class"} (model_index.json _diffuse.nullClass is ${JSON.stringify(pipe.info.nullClass ?? null)})`,
      { file: path.join(s.model, "model_index.json") },
    );
  }
  const input = await readInput(s.input);
  const mask = await readMask(s.mask);
  const w = v.reconstructionGuidance as number | undefined;
  const steps = (v.steps as number | undefined) ?? 50;
  const out = await inpaint(pipe, input.tensor, mask.tensor, {
    sampler: spec,
    steps,
    seed: (v.seed as number | undefined) ?? 0,
    threads: threadsFrom(v.threads, v),
    inputName: input.file,
    maskName: mask.file,
    ...(jump !== undefined ? { repaint: { jump, resample: resample! } } : {}),
    ...(w !== undefined ? { reconstructionGuidance: w } : {}),
    ...(infer
      ? {
          inferClass: {
            ...(v.classLevels !== undefined ? { levels: v.classLevels as number } : {}),
            ...(v.classCandidates !== undefined ? { candidates: v.classCandidates as number } : {}),
          },
          ...(v.guidanceScale !== undefined ? { guidanceScale: v.guidanceScale as number } : {}),
        }
      : {}),
    ...(progress
      ? {
          onStep: (i: number, total: number) => i === total && progress.write(`inpainted (${total} steps)\n`),
        }
      : {}),
  });
  const shape = [...out.samples.shape];
  if (path.extname(s.out).toLowerCase() === ".safetensors") {
    await writeSafetensorsFile(
      s.out,
      { samples: { dtype: "F32", shape, data: out.values() } },
      { format: "pt" },
    );
  } else {
    await writeFileAtomic(s.out, encodePng(out.toImage({ nrow: (v.nrow as number | undefined) ?? 8 })));
  }
  return {
    out: s.out,
    shape,
    sampler: out.sampler,
    nfe: out.nfe,
    ...(infer && out.labels ? { inferredClasses: Array.from(out.labels) } : {}),
  };
}

export async function inpaintMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(INPAINT_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(INPAINT_COMMAND));
    return 0;
  }
  for (const name of ["model", "input", "mask", "out"] as const) {
    if (typeof values[name] !== "string") throw new UsageError(`--${name}: required`);
  }
  const out = values.out as string;
  const ext = path.extname(out).toLowerCase();
  if (ext !== ".png" && ext !== ".safetensors") {
    throw new UsageError(
      `--out: ${JSON.stringify(out)} must end in .png (grid) or .safetensors (raw samples)`,
    );
  }
  const r = await runInpaint(
    {
      model: values.model as string,
      input: values.input as string,
      mask: values.mask as string,
      out,
      flags: values,
    },
    process.stderr,
  );
  process.stdout.write(`${JSON.stringify(r)}\n`);
  return 0;
}
