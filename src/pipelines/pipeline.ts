/**
 * A diffusion pipeline in the spirit of diffusers' `DiffusionPipeline`: a trained denoiser with its
 * weights, the scheduler config it was trained with, and what the model folder records about the
 * data (classes, null class, normalisation), behind one `generate` call:
 *
 *   const pipe = await loadPipeline("runs/mnist-cond");              // Node (pipeline-node.ts)
 *   const pipe = DiffusionPipeline.fromFiles({ config, weights, schedulerConfig, modelIndex }); // anywhere
 *   const out = await pipe.generate({ labels: [3, 7], guidanceScale: 3, sampler: "dpmsolver++", steps: 20 });
 *   out.samples                       // Tensor [N, C, H, W] (images, model space ~[-1, 1]) or [N, D]
 *   await out.toPng()                 // PNG bytes: an image grid, or a scatter plot of 2-D points
 *
 * The sampling math is `generate()` (generate.ts: classifier-free guidance as one batched call,
 * Ho & Salimans 2022 eq. 6); schedulers come by name from samplers.ts on the model's noise
 * schedule. Browser-safe: nothing here reads files.
 */
import type { Scheduler } from "../diffusion/scheduler.js";
import { type GridOptions, imageGrid, type RawImage } from "../io/image.js";
import { inFile } from "../io/input-error.js";
import { scatterPlot } from "../io/plot.js";
import { encodePngAsync } from "../io/png-encode.js";
import { parseSafetensors } from "../io/safetensors.js";
import { tensorToFloat32 } from "../io/safetensors_convert.js";
import { type Denoiser, denoiserFromConfig } from "../models/denoiser.js";
import type { Params } from "../nn/module.js";
import * as T from "../tensor/index.js";
import {
  type DecodeOptions,
  decodeLatents,
  type EditOptions,
  editImages,
  type InterpolateOptions,
  type InvertOptions,
  interpolateLatents,
  invertImages,
} from "./edit.js";
import { cyclicLabels, type GenerateOptions, generate, withClipDefault } from "./generate.js";
import type { LatentDecoder } from "./latent.js";
import type { ModelInfo } from "./model-info.js";
import { createSchedulerByName, type SamplerSpec } from "./samplers.js";

/** Sampler, steps and guidance scale used when `generate` is not told otherwise. */
export const PIPELINE_DEFAULTS = {
  sampler: "dpmsolver++",
  steps: 20,
  /**
   * Guidance scale of class-conditional models trained with a null class (1 = no guidance). 2, not the
   * 3 used before: on the default MNIST run (2500 steps, DPM-Solver++ 20, 500 samples) w = 3 gave FID
   * 26.0 (precision 0.82, recall 0.63), w = 2 FID 13.7 (0.81 / 0.81, classifier accuracy 0.986), w = 1.5
   * FID 11.4 but accuracy 0.964 (README, "Levers of sample quality"; issue 14).
   */
  guidanceScale: 2,
  /** Samples of an unconditional image model (a grid of 16). */
  numSamples: 16,
  /** Samples of an unconditional vector model (a scatter plot of 16 points would look empty). */
  numPoints: 1000,
} as const;

/** What a pipeline is made of (what `loadModelFolder` returns, minus the folder). */
export interface PipelineParts {
  denoiser: Denoiser;
  params: Params;
  /** The scheduler_config.json of the model (its training noise schedule and prediction type). */
  schedulerConfig: Record<string, unknown>;
  info?: ModelInfo;
  /** Where the scheduler config came from (a file path), named in its errors. */
  schedulerSource?: string;
  /** Latent diffusion: the autoencoder that decodes the denoiser's samples (latent.ts). */
  decoder?: LatentDecoder;
  /** The model folder (loadPipeline: its path), named in the errors of a sampler it cannot use. */
  source?: string;
}

/** The contents of a model folder, already read (e.g. fetched in a browser). */
export interface PipelineFiles {
  /** unet/config.json (UNet2DModel or MLPDenoiser, by `_class_name`). */
  config: Record<string, unknown>;
  /** unet/diffusion_pytorch_model.safetensors, as bytes. */
  weights: Uint8Array;
  /** scheduler/scheduler_config.json. */
  schedulerConfig: Record<string, unknown>;
  /** model_index.json (its `_diffuse` entry carries the classes and the data normalisation). */
  modelIndex?: Record<string, unknown>;
}

/**
 * Options of `DiffusionPipeline.generate`. Every field is optional; any other option of `generate()`
 * (generate.ts) passes through unchanged.
 */
export type PipelineGenerateOptions = Partial<
  Omit<GenerateOptions, "denoiser" | "params" | "scheduler" | "sampler" | "labels" | "nullClass">
> & {
  /**
   * A sampler name (`SAMPLER_NAMES`, default "dpmsolver++"; diffusers class names too), a spec with its
   * settings (`{ name: "ddim", eta: 0.5 }`), or a ready scheduler object.
   */
  sampler?: string | SamplerSpec | Scheduler;
  /** One class per sample (class-conditional models); default 0, 1, 2, ... cyclic. */
  labels?: ArrayLike<number>;
};

/** The samples of one `generate` call, with ways to look at them. */
export class PipelineOutput {
  constructor(
    /** [N, C, H, W] images or [N, D] vectors, in model space. */
    readonly samples: T.Tensor,
    /** The class of each sample (class-conditional models). */
    readonly labels: Int32Array | undefined,
    private readonly info: ModelInfo,
    /** The sampler that drew them (canonical name). */
    readonly sampler = "",
    /** Network evaluations it took (a guided [x; x] evaluation counts once). */
    readonly nfe = 0,
  ) {}

  /** Whether the samples are images ([N, C, H, W]). */
  get isImage(): boolean {
    return this.samples.rank === 4;
  }

  /** The samples as a flat array; images clamped to the data range [-1, 1] (as the PNG shows them). */
  values(): Float32Array {
    const v = Float32Array.from(this.samples.values() as Float32Array);
    if (this.isImage) for (let i = 0; i < v.length; i++) v[i] = Math.min(1, Math.max(-1, v[i]!));
    return v;
  }

  /** Vector samples in the data's units (model space mapped back by the folder's normalisation). */
  inDataUnits(): Float32Array {
    if (this.isImage) throw new Error("inDataUnits: the samples are images; use values() (range [-1, 1])");
    const v = this.values();
    const norm = this.info.normalization;
    if (!norm) return v;
    const d = this.samples.shape[1]!;
    for (let i = 0; i < v.length; i++) v[i] = v[i]! * norm.std[i % d]! + norm.mean[i % d]!;
    return v;
  }

  /** An 8-bit picture: a grid of the images (torchvision's make_grid), or a scatter plot of points. */
  toImage(options: GridOptions = {}): RawImage {
    if (this.isImage) {
      return imageGrid(this.values(), this.samples.shape as [number, number, number, number], options);
    }
    return scatterPlot(this.values(), this.samples.shape[1]!);
  }

  /** `toImage()` as PNG bytes (CompressionStream; see `encodePng` for a synchronous Node encoder). */
  toPng(options: GridOptions = {}): Promise<Uint8Array> {
    return encodePngAsync(this.toImage(options));
  }
}

/** A trained denoiser bound to its noise schedule; `generate` draws samples. */
export class DiffusionPipeline {
  readonly denoiser: Denoiser;
  readonly params: Params;
  readonly schedulerConfig: Record<string, unknown>;
  readonly info: ModelInfo;
  readonly schedulerSource: string | undefined;
  readonly decoder: LatentDecoder | undefined;
  /** The model folder, where known (loadPipeline). */
  readonly source: string | undefined;

  constructor(parts: PipelineParts) {
    this.schedulerSource = parts.schedulerSource;
    this.source = parts.source;
    this.decoder = parts.decoder;
    this.denoiser = parts.denoiser;
    this.params = parts.params;
    this.schedulerConfig = parts.schedulerConfig;
    this.info = parts.info ?? {};
  }

  /** The shape of one generated sample: the denoiser's example, or the decoded image of a latent model. */
  get outputExampleShape(): readonly number[] {
    return this.decoder ? this.decoder.imageShape(this.denoiser.exampleShape) : this.denoiser.exampleShape;
  }

  /** A pipeline from the files of a model folder, already read (browser: fetched). */
  static fromFiles(files: PipelineFiles): DiffusionPipeline {
    const denoiser = denoiserFromConfig(files.config);
    const params: Params = {};
    for (const [name, t] of parseSafetensors(files.weights).tensors) {
      params[name] = T.tensor(tensorToFloat32(t), t.shape);
    }
    denoiser.module.loadStateDict(params, { strict: true });
    const info = (files.modelIndex?._diffuse ?? {}) as ModelInfo;
    return new DiffusionPipeline({
      denoiser,
      params: denoiser.module.parameters(),
      schedulerConfig: files.schedulerConfig,
      info,
    });
  }

  /** Number of real classes of a class-conditional model (null: unconditional). */
  get numClasses(): number | null {
    const embeds = this.denoiser.numClassEmbeds;
    return embeds === null ? null : (this.info.numClasses ?? embeds);
  }

  /**
   * The scheduler `name` on the model's noise schedule. Images default to `clip_sample: true` (data in
   * [-1, 1]); vectors to false (their normalised data leave that box); the model's config decides
   * when it sets the field.
   */
  scheduler(name: string = this.defaultSampler): Scheduler {
    const config = withClipDefault(this.schedulerConfig, this.denoiser.exampleShape);
    const make = () => createSchedulerByName(name, config);
    return this.schedulerSource === undefined ? make() : inFile(this.schedulerSource, make);
  }

  /**
   * The sampler used when none is named: flow-matching Euler for a flow model (its scheduler config
   * is a FlowMatchEulerDiscreteScheduler), else `PIPELINE_DEFAULTS.sampler`.
   */
  get defaultSampler(): string {
    if (this.info.consistency) return "consistency";
    return this.schedulerConfig._class_name === "FlowMatchEulerDiscreteScheduler"
      ? "flow_match_euler"
      : PIPELINE_DEFAULTS.sampler;
  }

  /**
   * The sampling steps used when none are given: one for a consistency student and for a reflow
   * student of stage 2 (both are trained for one-step sampling), else `PIPELINE_DEFAULTS.steps`.
   */
  get defaultSteps(): number {
    if (this.info.consistency || this.info.reflow?.stage === 2) return 1;
    return PIPELINE_DEFAULTS.steps;
  }

  /** Samples drawn when none are asked for (unconditional): a grid of images, a cloud of points. */
  get defaultNumSamples(): number {
    return this.isImage ? PIPELINE_DEFAULTS.numSamples : PIPELINE_DEFAULTS.numPoints;
  }

  get isImage(): boolean {
    return this.denoiser.exampleShape.length === 3;
  }

  /** Draws samples (see PipelineGenerateOptions for the defaults). */
  async generate(options: PipelineGenerateOptions = {}): Promise<PipelineOutput> {
    const { sampler, labels: given, ...rest } = options;
    const labels = this.labels(given, options.numSamples, options.classifier?.classifier.config.num_classes);
    const nullClass = this.info.nullClass ?? null;
    const guidanceScale =
      options.guidanceScale ??
      (labels && nullClass !== null && !this.info.consistency ? PIPELINE_DEFAULTS.guidanceScale : 1);
    if (!labels && guidanceScale !== 1) {
      throw new Error(
        `guidanceScale: ${guidanceScale} needs a class-conditional model; this one is unconditional (use 1)`,
      );
    }
    const how = isScheduler(sampler)
      ? { scheduler: sampler }
      : {
          sampler: sampler ?? this.defaultSampler,
          schedulerConfig: this.schedulerConfig,
          ...(this.schedulerSource !== undefined ? { schedulerSource: this.schedulerSource } : {}),
        };
    const {
      samples,
      shape,
      sampler: name,
      nfe,
    } = await generate({
      steps: this.defaultSteps,
      seed: 0,
      ...rest,
      denoiser: this.denoiser,
      params: this.params,
      frozenWeights: rest.frozenWeights ?? true,
      ...how,
      numSamples: labels?.length ?? options.numSamples ?? this.defaultNumSamples,
      ...(labels ? { labels, guidanceScale, nullClass } : {}),
      ...(this.info.consistency ? { consistency: this.info.consistency } : {}),
      ...(this.source !== undefined ? { modelSource: this.source } : {}),
    });
    // Latent diffusion: samples are scaled latents; the autoencoder turns them into images.
    const images = this.decoder
      ? await this.decoder.decode(samples, shape, options.threads ?? 0)
      : { samples, shape };
    return new PipelineOutput(T.tensor(images.samples, images.shape), labels, this.info, name, nfe);
  }

  /** Editing works in the denoiser's own space: refused for latent models (images would be latents). */
  private pixelSpaceOnly(what: string): void {
    if (this.decoder)
      throw new Error(`${what}: not supported for latent diffusion models (this model has a vae/)`);
  }

  /** DDIM inversion: images [N, ...example shape] in [-1, 1] -> latents x_T (edit.ts). */
  invert(images: T.Tensor, options: InvertOptions = {}): Promise<T.Tensor> {
    this.pixelSpaceOnly("invert");
    if (this.info.consistency) {
      // DDIM inversion reads the network as a noise prediction; a student's is the consistency function.
      throw new Error(
        `invert: ${this.source ?? "this model"} is a consistency student (model_index.json field "_diffuse.consistency"); DDIM inversion needs a diffusion model`,
      );
    }
    return invertImages(this, images, options);
  }

  /** Decodes latents x_T as inversion expects: DDIM, eta 0, clipping off, unguided (edit.ts). */
  reconstruct(latents: T.Tensor, options: DecodeOptions = {}): Promise<PipelineOutput> {
    this.pixelSpaceOnly("reconstruct");
    return decodeLatents(this, latents, options);
  }

  /** img2img (SDEdit, diffusers' strength semantics) on images [N, ...example shape] (edit.ts). */
  edit(images: T.Tensor, options: EditOptions): Promise<PipelineOutput> {
    this.pixelSpaceOnly("edit");
    return editImages(this, images, options);
  }

  /** Spherical interpolation between two latents [1, ...], decoded to `frames` samples (edit.ts). */
  interpolate(a: T.Tensor, b: T.Tensor, options: InterpolateOptions): Promise<PipelineOutput> {
    return interpolateLatents(this, a, b, options);
  }

  /**
   * The labels to sample: as given (checked against the real classes), else 0, 1, 2, ... cyclic. An
   * unconditional model with a classifier (classifier guidance) takes the classifier's classes.
   */
  private labels(
    given: ArrayLike<number> | undefined,
    numSamples?: number,
    classifierClasses?: number,
  ): Int32Array | undefined {
    const k = this.numClasses ?? classifierClasses ?? null;
    if (k === null) {
      if (given) throw new Error("labels: the model is unconditional (no class embedding); omit them");
      return undefined;
    }
    if (!given) return cyclicLabels(numSamples ?? k, k);
    const labels = Int32Array.from(given);
    for (const [i, y] of labels.entries()) {
      if (!(y >= 0 && y < k && y === given[i])) {
        throw new Error(`labels[${i}] = ${given[i]} is not a class; expected an integer in [0, ${k - 1}]`);
      }
    }
    return labels;
  }
}

function isScheduler(s: unknown): s is Scheduler {
  return typeof s === "object" && s !== null && typeof (s as Scheduler).setTimesteps === "function";
}
