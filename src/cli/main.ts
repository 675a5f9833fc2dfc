#!/usr/bin/env node
/**
 * The `diffuse` command line: `diffuse <command> [flags]` with commands train, sample, info, eval, export.
 * Exit codes: 0 success, 1 failure (bad files, failed run), 2 usage errors (bad flags or settings),
 * 130 / 143 a training run stopped by SIGINT / SIGTERM (after writing its checkpoint).
 * Errors print as `diffuse <command>: <ErrorName>: <message>`, without a stack trace unless
 * DIFFUSE_DEBUG=1 is set.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { nodeOrt } from "../onnx/node.js";
import { setDefaultRuntime } from "../tensor/index.js";
import { ConfigFieldError } from "../train/config.js";
import { InterruptedError, RunError } from "../train/run-node.js";
import { UsageError } from "./args.js";
import { distillMain } from "./distill.js";
import { editMain, interpolateMain, invertMain } from "./editing.js";
import { evalMain } from "./eval.js";
import { exportMain } from "./export.js";
import { imputeMain } from "./impute.js";
import { infoMain } from "./info.js";
import { inpaintMain } from "./inpaint.js";
import { sampleMain } from "./sample.js";
import { trainMain } from "./train.js";
import { trainClassifierMain } from "./train-classifier.js";
import { trainVaeMain } from "./train-vae.js";

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; summary: string }> = {
  train: { run: trainMain, summary: "train a diffusion model (no flags: a small MNIST run)" },
  sample: { run: sampleMain, summary: "draw samples from a trained model" },
  info: { run: infoMain, summary: "show a trained model's config and size" },
  eval: { run: evalMain, summary: "measure sample quality (FID, KID, precision/recall, ...)" },
  "train-classifier": {
    run: trainClassifierMain,
    summary: "train a noise-conditioned classifier for classifier guidance",
  },
  "train-vae": {
    run: trainVaeMain,
    summary: "train a KL autoencoder for latent diffusion (diffuse train --vae)",
  },
  invert: { run: invertMain, summary: "DDIM-invert images to latents (diffuse sample --latents decodes)" },
  edit: { run: editMain, summary: "image-to-image (SDEdit): re-noise images part way and denoise" },
  interpolate: { run: interpolateMain, summary: "slerp between two latents, decoded as a strip" },
  inpaint: {
    run: inpaintMain,
    summary: "complete the masked part of images (replacement, RePaint, guidance)",
  },
  impute: { run: imputeMain, summary: "fill the empty cells of a CSV with a table model" },
  export: { run: exportMain, summary: "write a trained model as a standalone ONNX model" },
  distill: { run: distillMain, summary: "few-step students: reflow, consistency distillation" },
};

/** Column of the command summaries in `diffuse --help`: after the longest name and two spaces. */
const NAME_WIDTH = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;

function mainHelp(): string {
  return [
    "diffuse: train, sample and inspect diffusion models",
    "",
    "usage: diffuse <command> [flags]",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(NAME_WIDTH)}${c.summary}`),
    "",
    "Run 'diffuse <command> --help' for a command's flags.",
    "",
  ].join("\n");
}

/** Usage errors (exit 2): the command line or the settings are wrong. */
function isUsageError(e: unknown): boolean {
  return e instanceof UsageError || e instanceof ConfigFieldError || e instanceof RunError;
}

/** Runs the CLI on `argv` (without node and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  const label = command ? `diffuse ${name}` : "diffuse";
  try {
    if (!command) {
      throw new UsageError(
        `unknown command ${JSON.stringify(name)}; expected one of ${Object.keys(COMMANDS).join(", ")}`,
      );
    }
    setDefaultRuntime(nodeOrt);
    return await command.run(rest);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (process.env.DIFFUSE_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.stderr.write(`${label}: ${err.name}: ${err.message}\n`);
    if (err instanceof InterruptedError) return err.exitCode;
    if (isUsageError(err)) {
      process.stderr.write(`Run '${label} --help' for usage.\n`);
      return 2;
    }
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`diffuse: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
