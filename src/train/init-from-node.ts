/**
 * Warm start (`diffuse train --init-from DIR`): a new run's parameters start from a trained diffusers
 * UNet2DModel folder's weights, matched BY NAME (Node). Used by the joint run (joint-run-node.ts): the
 * JointUNet keeps the U-Net's diffusers names, so a class-conditional MNIST U-Net (the README's default
 * run, RUN/unet) gives its image path; its class embedding, which the joint model lacks (the label
 * enters through the label branch), is skipped, and the label branch keeps its fresh init.
 *
 *   a tensor in both, same shape       -> loaded
 *   a tensor in both, other shape      -> error naming the file, the tensor and both shapes
 *   a tensor only in the file          -> skipped (listed)
 *   a parameter only in the model      -> kept at its init if `mayKeep(name)`, else an error
 *
 * Only a fresh run reads the folder; a resumed run's weights come from its checkpoint.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { readWeights, WEIGHTS_FILE } from "../models/pretrained-node.js";
import { fmtShape } from "../nn/check.js";
import type { Params } from "../nn/module.js";
import { ConfigFieldError } from "./config.js";

/** What a warm start did, by parameter name. */
export interface WarmStart {
  /** The parameters, with the loaded ones replaced. */
  params: Params;
  /** Names taken from the file. */
  loaded: string[];
  /** Names in the file that the model lacks (not used). */
  skipped: string[];
  /** The model's names absent from the file (they keep their init). */
  kept: string[];
}

/**
 * `params` with every tensor of `weights` that the model has by name; `file` names the source in
 * errors. A shape mismatch, or a parameter absent from the file that `mayKeep` refuses, is an error
 * listing every such tensor.
 */
export function warmStart(
  params: Params,
  weights: Params,
  file: string,
  mayKeep: (name: string) => boolean,
): WarmStart {
  const out: Params = { ...params };
  const loaded: string[] = [];
  const skipped: string[] = [];
  const problems: string[] = [];
  for (const [name, t] of Object.entries(weights)) {
    const p = params[name];
    if (!p) {
      skipped.push(name);
      continue;
    }
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      problems.push(`tensor "${name}" has shape ${fmtShape(t.shape)}, the model's is ${fmtShape(p.shape)}`);
      continue;
    }
    out[name] = t;
    loaded.push(name);
  }
  const kept = Object.keys(params).filter((n) => !Object.hasOwn(weights, n));
  for (const name of kept.filter((n) => !mayKeep(n))) {
    problems.push(`tensor "${name}" (shape ${fmtShape(params[name]!.shape)}) is missing`);
  }
  if (problems.length > 0) {
    throw new ConfigFieldError(
      `--init-from ${file}: ${problems.length === 1 ? "" : `${problems.length} problems:\n  `}${problems.join("\n  ")}\n(expected the weights of a U-Net with the run's preset's architecture)`,
    );
  }
  return { params: out, loaded, skipped, kept };
}

/** `warmStart` from a diffusers model folder `dir` (its diffusion_pytorch_model.safetensors). */
export async function warmStartFromFolder(
  params: Params,
  dir: string,
  mayKeep: (name: string) => boolean,
): Promise<WarmStart> {
  const file = path.join(dir, WEIGHTS_FILE);
  if (!existsSync(file)) {
    throw new ConfigFieldError(
      `--init-from ${dir}: no ${WEIGHTS_FILE} there; expected a diffusers UNet2DModel folder (a run's unet/)`,
    );
  }
  return warmStart(params, await readWeights(dir), file, mayKeep);
}
