/** `diffuse info`: a saved model's class, config, parameter count and size on disk. */
import { statSync } from "node:fs";
import path from "node:path";
import { parameterCount } from "../models/denoiser.js";
import { WEIGHTS_FILE } from "../models/pretrained-node.js";
import { loadModelFolder } from "../pipelines/model-folder-node.js";
import { type Command, helpText, parseFlags, UsageError } from "./args.js";

export const INFO_COMMAND: Command = {
  name: "info",
  summary: "show a trained model's config and size",
  usage: "diffuse info --model DIR [--json]",
  flags: [
    { name: "model", kind: "string", value: "DIR", help: "model folder (pipeline or bare model)" },
    { name: "json", kind: "boolean", help: "print one JSON object instead of text" },
  ],
};

function humanBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The facts `info` prints. */
export async function modelFacts(dir: string): Promise<Record<string, unknown>> {
  const m = await loadModelFolder(dir);
  const unetDir = statSafe(path.join(dir, "unet", WEIGHTS_FILE)) !== undefined ? path.join(dir, "unet") : dir;
  const weightsBytes = statSafe(path.join(unetDir, WEIGHTS_FILE)) ?? 0;
  return {
    model: dir,
    className: m.denoiser.className,
    parameters: parameterCount(m.params),
    weightsBytes,
    exampleShape: m.denoiser.exampleShape,
    classConditional: m.denoiser.numClassEmbeds !== null,
    ...m.info,
    config: m.denoiser.toConfig(),
    scheduler: m.schedulerConfig,
  };
}

function statSafe(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

export async function infoMain(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(INFO_COMMAND, argv);
  if (help) {
    process.stdout.write(helpText(INFO_COMMAND));
    return 0;
  }
  if (typeof values.model !== "string")
    throw new UsageError("--model: required (the folder of a trained model)");
  const f = await modelFacts(values.model);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(f, null, 2)}\n`);
    return 0;
  }
  const sched = f.scheduler as Record<string, unknown> | null;
  const lines = [
    `model:       ${f.model}`,
    `class:       ${f.className}`,
    `parameters:  ${(f.parameters as number).toLocaleString("en-US")} (${humanBytes(f.weightsBytes as number)} of weights)`,
    `example:     [${(f.exampleShape as number[]).join(", ")}]`,
    `conditional: ${f.classConditional ? `yes (${f.numClasses ?? "?"} classes, null class ${f.nullClass ?? "none"})` : "no"}`,
    ...(f.dataset ? [`trained on:  ${f.dataset}${f.steps ? ` for ${f.steps} steps` : ""}`] : []),
    ...(sched
      ? [
          `scheduler:   ${sched._class_name ?? "?"} (${sched.beta_schedule ?? "?"}, T = ${sched.num_train_timesteps ?? "?"}, prediction ${sched.prediction_type ?? "epsilon"})`,
        ]
      : []),
    "config:",
    ...JSON.stringify(f.config, null, 2)
      .split("\n")
      .map((l) => `  ${l}`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
