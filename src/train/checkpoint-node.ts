/**
 * Training checkpoints (Node only): ONE safetensors file, `<out>/checkpoint.safetensors`, holding
 *
 *   params.<name>, ema.<name>, adam_m.<name>, adam_v.<name>   float32, diffusers parameter names
 *   adam_step, ema_step                                        float32 scalars (the in-graph counters)
 *   __metadata__.diffuse_checkpoint                            JSON: format, step, loader position,
 *                                                              RNG stream state, run config, model config
 *
 * written with `writeFileAtomic` (temporary file, fsync, rename, fsync of the directory): killing the
 * process at any moment leaves either the previous checkpoint or the new one, never a torn file.
 * Stray temporary files of an interrupted write (`.checkpoint.safetensors.<hex>.tmp`) are never read
 * and are removed by `removeStaleTemporaries`. A state holding NaN/Inf anywhere is refused BEFORE the
 * write (NonFiniteError), so the previous, good checkpoint stays in place.
 */
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { readSafetensorsFile, writeSafetensorsFile } from "../io/files.js";
import { InputError } from "../io/input-error.js";
import type { StTensor } from "../io/safetensors.js";
import { assertFiniteParams, describeNonFinite, findNonFinite } from "../nn/finite.js";
import type { Params } from "../nn/module.js";
import { RngStream } from "../random/index.js";
import * as T from "../tensor/index.js";
import type { TrainConfig } from "./config.js";
import type { TrainState } from "./trainer.js";

export const CHECKPOINT_FILE = "checkpoint.safetensors";
export const CHECKPOINT_FORMAT = 1;
const META_KEY = "diffuse_checkpoint";

/** The JSON part of a checkpoint. */
export interface CheckpointMeta {
  format: number;
  step: number;
  loader: { epoch: number; index: number };
  rng: { key: [number, number]; counter: number };
  config: TrainConfig;
  /** The model's config.json object. */
  model: Record<string, unknown>;
  /** Wall-clock seconds of training before this checkpoint (over all resumed sessions). */
  elapsed: number;
}

export class CheckpointError extends InputError {
  override name = "CheckpointError";
}

const GROUPS = ["params", "ema", "adam_m", "adam_v"] as const;

function f32(t: T.Tensor): StTensor {
  return { dtype: "F32", shape: [...t.shape], data: Float32Array.from(t.values() as Float32Array) };
}

/** The checkpoint's path in a run directory. */
export function checkpointPath(outDir: string): string {
  return path.join(outDir, CHECKPOINT_FILE);
}

/** Writes `state` atomically to `<outDir>/checkpoint.safetensors`. */
export async function saveCheckpoint(
  outDir: string,
  state: TrainState,
  info: { config: TrainConfig; model: Record<string, unknown>; elapsed: number },
): Promise<void> {
  const trees: Record<(typeof GROUPS)[number], Params> = {
    params: state.params,
    ema: state.ema.params,
    adam_m: state.optState.m,
    adam_v: state.optState.v,
  };
  for (const g of GROUPS)
    assertFiniteParams(trees[g], `checkpoint ${checkpointPath(outDir)} (step ${state.step}) not written`, g);
  const tensors: Record<string, StTensor> = {
    adam_step: f32(state.optState.step),
    ema_step: f32(state.ema.step),
  };
  for (const g of GROUPS) for (const [name, t] of Object.entries(trees[g])) tensors[`${g}.${name}`] = f32(t);
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    step: state.step,
    loader: { ...state.loader },
    rng: state.rng as CheckpointMeta["rng"],
    config: info.config,
    model: info.model,
    elapsed: info.elapsed,
  };
  await writeSafetensorsFile(checkpointPath(outDir), tensors, { [META_KEY]: JSON.stringify(meta) });
}

function parseMeta(file: string, metadata: Record<string, string> | undefined): CheckpointMeta {
  const text = metadata?.[META_KEY];
  if (text === undefined)
    throw new CheckpointError(`${file}: not a diffuse checkpoint (no "${META_KEY}" metadata)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(text) as CheckpointMeta;
  } catch (e) {
    throw new CheckpointError(`${file}: metadata "${META_KEY}" is not valid JSON (${(e as Error).message})`);
  }
  const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  const bad = (field: string, value: unknown, expected: string): never => {
    throw new CheckpointError(`${file}: field "${field}" is ${JSON.stringify(value)}; expected ${expected}`);
  };
  if (!isObject(meta)) bad(META_KEY, meta, "a JSON object");
  if (meta.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `${file}: field "format" is ${JSON.stringify(meta.format)}; expected ${CHECKPOINT_FORMAT}`,
    );
  }
  if (!Number.isSafeInteger(meta.step) || meta.step < 0) {
    throw new CheckpointError(
      `${file}: field "step" is ${JSON.stringify(meta.step)}; expected a non-negative integer`,
    );
  }
  try {
    RngStream.fromState(meta.rng);
  } catch (e) {
    throw new CheckpointError(`${file}: field "rng": ${(e as Error).message}`);
  }
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!isObject(meta.loader) || !count(meta.loader.epoch) || !count(meta.loader.index)) {
    bad("loader", meta.loader, "{epoch, index} of non-negative integers");
  }
  if (!isObject(meta.config)) bad("config", meta.config, "the run's config object");
  if (!isObject(meta.model)) bad("model", meta.model, "the model's config.json object");
  if (typeof meta.elapsed !== "number" || !(meta.elapsed >= 0)) {
    bad("elapsed", meta.elapsed, "a non-negative number of seconds");
  }
  return meta;
}

/**
 * Reads `<outDir>/checkpoint.safetensors`: the state and its metadata. `paramNames` (the model's
 * parameters) must all be present in every group.
 */
export async function loadCheckpoint(
  outDir: string,
  paramNames?: readonly string[],
): Promise<{ state: TrainState; meta: CheckpointMeta }> {
  const file = checkpointPath(outDir);
  const { tensors, metadata } = await readSafetensorsFile(file);
  const meta = parseMeta(file, metadata);
  const get = (name: string): T.Tensor => {
    const t = tensors.get(name);
    if (!t) throw new CheckpointError(`${file}: tensor "${name}" is missing`);
    if (t.dtype !== "F32")
      throw new CheckpointError(`${file}: tensor "${name}" has dtype ${t.dtype}; expected F32`);
    const tensor = T.tensor(t.data as Float32Array, t.shape);
    const bad = findNonFinite({ [name]: tensor });
    if (bad)
      throw new CheckpointError(`${file}: ${describeNonFinite(bad)}; a diffuse checkpoint never holds them`);
    return tensor;
  };
  const names =
    paramNames ?? [...tensors.keys()].filter((k) => k.startsWith("params.")).map((k) => k.slice(7));
  const group = (g: string): Params => Object.fromEntries(names.map((n) => [n, get(`${g}.${n}`)]));
  const state: TrainState = {
    step: meta.step,
    params: group("params"),
    optState: { step: get("adam_step"), m: group("adam_m"), v: group("adam_v") },
    ema: { step: get("ema_step"), params: group("ema") },
    loader: meta.loader,
    rng: meta.rng,
  };
  return { state, meta };
}

/** Only the metadata of a checkpoint (e.g. to recover the run config before building the model). */
export async function readCheckpointMeta(outDir: string): Promise<CheckpointMeta> {
  const file = checkpointPath(outDir);
  const { metadata } = await readSafetensorsFile(file);
  return parseMeta(file, metadata);
}

/** Removes temporary files left by writes that were interrupted (`.<name>.<hex>.tmp`). */
export async function removeStaleTemporaries(outDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(outDir);
  } catch {
    return [];
  }
  const stale = entries.filter((e) => /^\..+\.[0-9a-f]+\.tmp$/.test(e));
  await Promise.all(stale.map((e) => rm(path.join(outDir, e), { force: true })));
  return stale;
}
