/**
 * `diffuse train-vae`: trains a KL autoencoder (diffusers AutoencoderKL) on images
 * (src/train/vae-run-node.ts): flags and/or a JSON config file (the flags' names in camelCase;
 * flags override the file). The folder it writes is what `diffuse train --vae DIR` trains in.
 */
import { readJsonFile } from "../io/files.js";
import { ConfigFieldError } from "../train/config.js";
import { RECONSTRUCTION_LOSSES } from "../train/vae-objective.js";
import { VAE_PRESET_NAMES } from "../train/vae-presets.js";
import { runVaeTraining, VAE_RUN_DEFAULTS, type VaeRunConfig } from "../train/vae-run-node.js";
import { type Command, helpText, parseFlags, UsageError } from "./args.js";
import { threadsFrom } from "./limits.js";
import { onStopSignals } from "./train.js";

export const TRAIN_VAE_COMMAND: Command = {
  name: "train-vae",
  summary: "train a KL autoencoder (AutoencoderKL) for latent diffusion",
  usage: "diffuse train-vae --dataset NAME --steps N --out DIR [--config FILE] [--beta B] [--resume] ...",
  flags: [
    {
      name: "config",
      kind: "string",
      value: "FILE",
      help: "JSON file of settings (the flags' names in camelCase)",
    },
    {
      name: "dataset",
      kind: "string",
      value: "NAME",
      help: "image dataset (mnist, fashion-mnist, twemoji, folder:...)",
    },
    {
      name: "preset",
      kind: "string",
      value: "NAME",
      help: "autoencoder preset (default: by image size)",
      choices: VAE_PRESET_NAMES,
    },
    {
      name: "model",
      kind: "json",
      value: "JSON",
      help: "AutoencoderKL config fields overriding the preset's",
    },
    {
      name: "reconstruction",
      kind: "string",
      value: "KIND",
      help: "reconstruction loss (default l1)",
      choices: RECONSTRUCTION_LOSSES,
    },
    {
      name: "beta",
      kind: "number",
      value: "B",
      help: `KL weight (default ${VAE_RUN_DEFAULTS.beta}, LDM's kl_weight)`,
    },
    {
      name: "perceptual-weight",
      kind: "number",
      value: "W",
      help: "weight of a perceptual term in the frozen feature net's conv stages (mnist, fashion-mnist; default 0: off)",
    },
    {
      name: "steps",
      kind: "posint",
      value: "N",
      help: `optimizer steps (default ${VAE_RUN_DEFAULTS.steps})`,
    },
    {
      name: "batch-size",
      kind: "posint",
      value: "B",
      help: `examples per step (default ${VAE_RUN_DEFAULTS.batchSize})`,
    },
    {
      name: "lr",
      kind: "number",
      value: "LR",
      help: `peak learning rate (default ${VAE_RUN_DEFAULTS.lr}, cosine decay)`,
    },
    { name: "warmup-steps", kind: "int", value: "N", help: "linear warm-up steps (default 50)" },
    { name: "weight-decay", kind: "number", value: "W", help: "AdamW weight decay (default 0)" },
    {
      name: "max-grad-norm",
      kind: "number",
      value: "X",
      help: "clip the global gradient norm (0: off; default 1)",
    },
    { name: "ema-decay", kind: "number", value: "D", help: "maximum EMA decay (default 0.999)" },
    { name: "limit", kind: "int", value: "N", help: "use only the first N training examples (0: all)" },
    { name: "valid-size", kind: "posint", value: "N", help: "held-out images for validation (default 256)" },
    { name: "valid-every", kind: "int", value: "N", help: "validation every N steps (0: at the end)" },
    {
      name: "sample-every",
      kind: "int",
      value: "N",
      help: "reconstruction grid every N steps (0: at the end)",
    },
    { name: "num-samples", kind: "posint", value: "N", help: "held-out images in the grid (default 16)" },
    {
      name: "scale-samples",
      kind: "posint",
      value: "N",
      help: "training images whose latents set scaling_factor (default 1024)",
    },
    {
      name: "seed",
      kind: "int",
      value: "S",
      help: "seed of the data order, noise and initialisation (default 0)",
    },
    { name: "out", kind: "string", value: "DIR", help: "run and autoencoder folder (required)" },
    { name: "resume", kind: "boolean", help: "continue the run in --out from its checkpoint" },
    { name: "overwrite", kind: "boolean", help: "replace an existing run in --out" },
    { name: "log-every", kind: "posint", value: "N", help: "log every N steps (default 10)" },
    { name: "checkpoint-every", kind: "int", value: "N", help: "checkpoint every N steps (default 200)" },
    {
      name: "max-bad-steps",
      kind: "int",
      value: "N",
      help: "stop after N consecutive non-finite steps (default 3)",
    },
    { name: "threads", kind: "int", value: "N", help: "ONNX Runtime threads (0: all cores)" },
    { name: "force-threads", kind: "boolean", help: "allow --threads above the number of cores" },
  ],
  epilog: [
    "Presets: vae28 (28x28 grey, factor 4: 7x7x4 latents), vae64 (64x64, factor 4: 16x16x4), vae64-f8",
    "(64x64, factor 8: 8x8x4). Loss: l1/l2 reconstruction + beta * KL(q(z|x) || N(0, I)) per pixel,",
    "+ W * mean squared difference of the conv-stage activations of the dataset's feature net",
    "(assets/feature-nets/<dataset>, frozen) with --perceptual-weight W.",
    "Writes <out>/config.json + diffusion_pytorch_model.safetensors (diffusers AutoencoderKL, EMA weights,",
    "scaling_factor = 1 / std of the latents), reconstructions.png, validation.json (held-out PSNR).",
  ].join("\n"),
};

const KNOWN = new Set([...Object.keys(VAE_RUN_DEFAULTS), "dataset", "out"]);

export async function trainVaeMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(TRAIN_VAE_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(TRAIN_VAE_COMMAND));
    return 0;
  }
  const { config: file, overwrite, forceThreads: _, ...flags } = values;
  let fromFile: Record<string, unknown> = {};
  if (typeof file === "string") {
    const raw = await readJsonFile(file, "config file");
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new ConfigFieldError(`config file ${file}: expected a JSON object of settings`);
    }
    fromFile = raw as Record<string, unknown>;
    for (const k of Object.keys(fromFile)) {
      if (!KNOWN.has(k))
        throw new ConfigFieldError(
          `config file ${file}: unknown field "${k}"; expected one of ${[...KNOWN].join(", ")}`,
        );
    }
  }
  const merged = { ...fromFile, ...flags } as Partial<VaeRunConfig>;
  if (typeof merged.out !== "string") throw new UsageError("--out DIR is required");
  if (merged.threads !== undefined) merged.threads = threadsFrom(merged.threads, values);
  const stop = onStopSignals();
  try {
    const r = await runVaeTraining(merged as Partial<VaeRunConfig> & { out: string }, {
      signal: stop.signal,
      overwrite: overwrite === true,
    });
    process.stdout.write(
      `${JSON.stringify({ out: r.out, step: r.step, loss: r.loss, psnr: r.validation?.psnr ?? null, mse: r.validation?.mse ?? null, scalingFactor: r.scalingFactor, seconds: Math.round(r.elapsed) })}\n`,
    );
    return 0;
  } finally {
    stop.dispose();
  }
}
