/**
 * `exportModelFolder(dir, out)`: writes a trained model folder's denoiser as a standalone ONNX model
 * (export-onnx.ts), its scheduler config and manifest.json into `out` (Node only):
 *
 *   <out>/denoiser.onnx           the network with its weights; dynamic batch
 *   <out>/scheduler_config.json   the noise schedule it was trained with (diffusers' fields)
 *   <out>/manifest.json           inputs/outputs, shapes, dtypes, value range, classes, null class
 */
import path from "node:path";
import { makeDir } from "../io/dirs.js";
import { writeFileAtomic } from "../io/files.js";
import { type ExportManifest, exportDenoiser } from "./export-onnx.js";
import { type LoadLimits, loadModelFolder } from "./model-folder-node.js";

export const MANIFEST_FILE = "manifest.json";

/** Exports the model folder `dir` into `out`; returns the manifest written. */
export async function exportModelFolder(
  dir: string,
  out: string,
  limits: LoadLimits = {},
): Promise<ExportManifest> {
  const m = await loadModelFolder(dir, limits);
  if (!m.schedulerConfig) {
    throw new Error(`model folder ${dir}: no scheduler/scheduler_config.json found (the noise schedule)`);
  }
  const { model, manifest } = exportDenoiser(m.denoiser, m.params, m.schedulerConfig, m.info);
  await makeDir(out, "export folder");
  await writeFileAtomic(path.join(out, manifest.files.model), model);
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  await writeFileAtomic(path.join(out, manifest.files.schedulerConfig), json(m.schedulerConfig));
  await writeFileAtomic(path.join(out, MANIFEST_FILE), json(manifest));
  return manifest;
}
